import Stripe from 'stripe';
import { eventually, startHarness, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';
import type { DeliveryResult } from '../../src/sandbox/stripe/fake-stripe.webhooks';

let h: Harness;

/** POSTs a body to the webhook exactly as given; `signature: null` leaves the header out. */
async function post(body: string, signature: string | null = h.stripe.signPayload(body)) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== null) headers['stripe-signature'] = signature;
  const response = await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers, body });
  const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
  // Answered once stored; applied right after, from the inbox.
  await h.app.services.intake.whenIdle();
  return answer;
}
const deliver = (event: FakeEvent) => post(JSON.stringify(event));
const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const storedEvents = () => sql(`select event_id, type, processed_at, outcome, attempts, last_error, next_attempt_at from gateway_events order by received_at`);
/** The payment's audit trail of status changes, in the order written ('PENDING->SUCCEEDED', …). */
async function transitions(paymentId: string): Promise<string[]> {
  const rows = await sql<{ change: string }>(
    `select concat(before->>'status', '->', after->>'status') as change from audit_entries
      where action = 'payment.transition' and subject_id = ? order by at, ctid`,
    [paymentId],
  );
  return rows.map((r) => r.change);
}
const allOk = (deliveries: DeliveryResult[]) => expect(deliveries.map((d) => d.status)).toEqual(deliveries.map(() => 200));
const ofType = (events: FakeEvent[], type: string) => events.find((e) => e.type === type)!;

async function payment(id: string) {
  return must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor failureCode } }`, { id })).payment;
}
/** The alerts webhook handling raises (other features, e.g. delivery to an unreachable Telegram, raise their own). */
const WEBHOOK_ALERTS = ['PAYMENT_FAILED', 'PAYMENT_CANCELED', 'PAYMENT_REFUNDED', 'PAYMENT_DISPUTED', 'UNMATCHED_GATEWAY_EVENT', 'GATEWAY_EVENT_FAILED'];
async function alerts() {
  const data = must(await h.gql(`{ alerts(first: 50) { edges { node { type severity occurrences subjectId detail } } } }`));
  const nodes = data.alerts.edges.map((e: any) => e.node) as Array<{ type: string; severity: string; occurrences: number; subjectId: string; detail: string }>;
  return nodes.filter((a) => WEBHOOK_ALERTS.includes(a.type));
}

/** A PENDING payment with an open Checkout Session on the fake. */
async function pendingPayment() {
  const { customerId, planId } = await seedCatalog(h);
  return createPayment(h, customerId, planId);
}

/** The customer pays; the events are returned undelivered unless `deliver` is set. */
async function paidPayment(options: { deliver?: boolean } = {}) {
  const created = await pendingPayment();
  const paid = await h.stripe.completeCheckout(created.stripeCheckoutSessionId, { sendWebhooks: options.deliver ?? false });
  if (options.deliver) allOk(paid.deliveries);
  return { id: created.id, sessionId: created.stripeCheckoutSessionId, intent: paid.paymentIntent, events: paid.events };
}

/** A declined card on a PaymentIntent that carries our payment id; the failure event is not yet sent. */
async function declinedIntent(paymentId: string) {
  const { paymentIntent } = await h.stripe.createPaymentIntentDirect(
    { amount: 2500, currency: 'usd', metadata: { paymentId }, status: 'requires_payment_method' },
    { sendWebhooks: false },
  );
  const failed = await h.stripe.failPaymentIntent(paymentIntent.id, { code: 'card_declined', declineCode: 'insufficient_funds' }, { sendWebhooks: false });
  return { intent: paymentIntent, event: ofType(failed.events, 'payment_intent.payment_failed') };
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.reset());

describe('Stripe webhook: verification', () => {
  it('applies a correctly signed event and answers 200 only after it is stored', async () => {
    const { id, events } = await paidPayment();
    const response = await deliver(ofType(events, 'payment_intent.succeeded'));

    expect(response).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect((await payment(id)).status).toBe('SUCCEEDED');
    expect(await storedEvents()).toMatchObject([{ type: 'payment_intent.succeeded', outcome: 'PENDING -> SUCCEEDED', attempts: 1, last_error: null }]);
  });

  it.each([
    ['a body changed after signing', (body: string) => post(body.replace('"amount": 2500', '"amount": 1'), h.stripe.signPayload(body))],
    ['a signature made with another secret', (body: string) => post(body, Stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_someone_else' }))],
    ['a timestamp 10 minutes old', (body: string) => post(body, h.stripe.signPayload(body, Math.floor(Date.now() / 1000) - 600))],
    ['no Stripe-Signature header', (body: string) => post(body, null)],
    ['malformed JSON with a valid signature', (body: string) => post(body.slice(0, -10))],
    ['JSON that is not an event, validly signed', () => post(JSON.stringify({ hello: 'world' }))],
  ])('rejects %s with 400 and stores nothing', async (_label, send) => {
    const { id, events } = await paidPayment();
    const response = await send(JSON.stringify(ofType(events, 'payment_intent.succeeded'), null, 2));

    expect(response.status).toBe(400);
    expect(await storedEvents()).toEqual([]);
    expect((await payment(id)).status).toBe('PENDING');
  });
});

describe('Stripe webhook: redelivery and ordering', () => {
  it('a duplicate delivery answers 200 "duplicate" and applies its effect once', async () => {
    const { id, intent } = await paidPayment({ deliver: true });
    const { events } = await h.stripe.disputeCharge(intent.latest_charge!, {}, { sendWebhooks: false });
    const dispute = ofType(events, 'charge.dispute.created');

    expect((await deliver(dispute)).body).toEqual({ received: true, status: 'stored' });
    expect(await deliver(dispute)).toEqual({ status: 200, body: { received: true, status: 'duplicate' } });

    expect((await payment(id)).status).toBe('DISPUTED');
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->DISPUTED']);
    expect((await alerts()).filter((a) => a.type === 'PAYMENT_DISPUTED')).toMatchObject([{ occurrences: 1, subjectId: id }]);
  });

  it('the same event delivered several times at once is applied by exactly one delivery', async () => {
    const { id, events } = await paidPayment();
    const success = ofType(events, 'payment_intent.succeeded');

    const responses = await Promise.all(Array.from({ length: 5 }, () => deliver(success)));

    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(responses.map((r) => r.body.status).sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'stored']);
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
    expect(await sql(`select action from audit_entries where action like 'subscription.%' and after->>'paymentId' = ?`, [id])).toEqual([{ action: 'subscription.create' }]);
    expect(await storedEvents()).toMatchObject([{ type: 'payment_intent.succeeded', outcome: 'PENDING -> SUCCEEDED', attempts: 1 }]);
  });

  it('a failure delivered after the success leaves the payment SUCCEEDED, with no failure alert', async () => {
    const { id, intent, events } = await paidPayment();
    const earlierFailure = h.stripe.createEvent('payment_intent.payment_failed', {
      ...intent,
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
    });

    expect((await deliver(ofType(events, 'payment_intent.succeeded'))).status).toBe(200);
    expect((await deliver(earlierFailure)).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0, failureCode: null });
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
    expect(await alerts()).toEqual([]);
  });

  it('regression: a full refund delivered before the success no longer leaves the payment SUCCEEDED', async () => {
    const { id, intent, events } = await paidPayment();
    const { events: refund } = await h.stripe.refundCharge(intent.id, {}, { sendWebhooks: false });

    expect((await deliver(ofType(refund, 'charge.refunded'))).status).toBe(200);
    expect((await deliver(ofType(events, 'payment_intent.succeeded'))).status).toBe(200);
    expect((await deliver(ofType(events, 'checkout.session.completed'))).status).toBe(200);

    expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->REFUNDED']);
  });

  it('regression: a dispute delivered before the success is applied once the payment succeeds', async () => {
    const { id, intent, events } = await paidPayment();
    const { events: disputed } = await h.stripe.disputeCharge(intent.latest_charge!, {}, { sendWebhooks: false });

    expect((await deliver(ofType(disputed, 'charge.dispute.created'))).status).toBe(200);
    expect((await payment(id)).status).toBe('PENDING');
    expect((await deliver(ofType(events, 'payment_intent.succeeded'))).status).toBe(200);
    expect((await deliver(ofType(events, 'checkout.session.completed'))).status).toBe(200);

    expect((await payment(id)).status).toBe('DISPUTED');
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->DISPUTED']);
    expect((await alerts()).filter((a) => a.type === 'PAYMENT_DISPUTED')).toMatchObject([{ subjectId: id }]);
  });
});

describe('Stripe webhook: effects of each event type', () => {
  it('a full refund moves the payment to REFUNDED and raises a MEDIUM alert', async () => {
    const { id, intent } = await paidPayment({ deliver: true });
    allOk((await h.stripe.refundCharge(intent.id)).deliveries);

    expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    expect(await alerts()).toMatchObject([{ type: 'PAYMENT_REFUNDED', severity: 'MEDIUM', subjectId: id }]);
  });

  it('a partial refund keeps the payment SUCCEEDED, records the refunded amount, and the alert says how much', async () => {
    const { id, intent } = await paidPayment({ deliver: true });
    allOk((await h.stripe.refundCharge(intent.id, { amount: 1000 })).deliveries);

    expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000 });
    const titles = must(await h.gql(`{ alerts(filter: { types: [PAYMENT_REFUNDED] }) { edges { node { title } } } }`)).alerts.edges.map((e: any) => e.node.title);
    expect(titles).toEqual(['Payment partly refunded: 1000 of 2500 USD']);
  });

  it('releasing an authorization is not a refund: no refund recorded, and its echo raises no alert', async () => {
    const created = await pendingPayment();
    const { deliveries } = await h.stripe.completeCheckout(created.stripeCheckoutSessionId, { captureMethod: 'manual' });
    allOk(deliveries);
    await eventually(async () => (await payment(created.id)).status === 'AUTHORIZED');
    const eventsBefore = h.stripe.store.events.newestFirst().length;
    must(await h.gql(`mutation($id: ID!) { releaseAuthorization(paymentId: $id, reason: "customer left") { status } }`, { id: created.id }, { token: h.tokens.operator }));
    // Stripe announces the release twice: the intent canceled, and its uncaptured charge "refunded".
    const released = h.stripe.store.events.newestFirst().slice(0, h.stripe.store.events.newestFirst().length - eventsBefore);
    expect(released.map((e) => e.type).sort()).toEqual(['charge.refunded', 'payment_intent.canceled']);
    for (const event of released.reverse()) expect((await deliver(event)).status).toBe(200);

    expect(await payment(created.id)).toMatchObject({ status: 'CANCELLED', refundedMinor: 0 });
    // The operator's own release is no exception either: no PAYMENT_CANCELED for its echo.
    expect((await alerts()).map((a) => a.type)).toEqual([]);
    expect((await storedEvents()).find((e) => e.type === 'charge.refunded')?.outcome).toBe('no change: an authorization was released (its charge was never captured)');
  });

  it('a dispute moves the payment to DISPUTED and raises a CRITICAL alert', async () => {
    const { id, intent } = await paidPayment({ deliver: true });
    allOk((await h.stripe.disputeCharge(intent.latest_charge!)).deliveries);

    expect((await payment(id)).status).toBe('DISPUTED');
    expect(await alerts()).toMatchObject([{ type: 'PAYMENT_DISPUTED', severity: 'CRITICAL', subjectId: id }]);
  });

  it('a declined card moves the payment to FAILED with the decline code and raises a HIGH alert', async () => {
    const created = await pendingPayment();
    const { event } = await declinedIntent(created.id);
    expect((await deliver(event)).status).toBe(200);

    expect(await payment(created.id)).toMatchObject({ status: 'FAILED', failureCode: 'insufficient_funds' });
    expect(await alerts()).toMatchObject([{ type: 'PAYMENT_FAILED', severity: 'HIGH', subjectId: created.id }]);
  });

  it('a canceled PaymentIntent moves the payment to CANCELLED and raises a MEDIUM alert', async () => {
    const created = await pendingPayment();
    const { deliveries } = await h.stripe.createPaymentIntentDirect({ amount: 2500, currency: 'usd', metadata: { paymentId: created.id }, status: 'canceled' });
    allOk(deliveries);

    expect((await payment(created.id)).status).toBe('CANCELLED');
    expect(await alerts()).toMatchObject([{ type: 'PAYMENT_CANCELED', severity: 'MEDIUM', subjectId: created.id }]);
  });

  it('an expired Checkout Session moves the payment to EXPIRED', async () => {
    const created = await pendingPayment();
    allOk((await h.stripe.expireCheckout(created.stripeCheckoutSessionId)).deliveries);

    expect((await payment(created.id)).status).toBe('EXPIRED');
    expect(await transitions(created.id)).toEqual(['PENDING->EXPIRED']);
  });

  it('a payment Recoup does not know answers 200 and raises UNMATCHED_GATEWAY_EVENT', async () => {
    const { paymentIntent, deliveries } = await h.stripe.createPaymentIntentDirect({ amount: 990, currency: 'usd' });
    allOk(deliveries);

    expect(await alerts()).toMatchObject([{ type: 'UNMATCHED_GATEWAY_EVENT', subjectId: paymentIntent.id }]);
    expect(must(await h.gql(`{ payments { totalCount } }`)).payments.totalCount).toBe(0);
  });

  it('a type Recoup does not act on is stored as ignored and acknowledged', async () => {
    const event = h.stripe.createEvent('customer.created', { id: 'cus_test_1', object: 'customer', created: 1_768_000_000 });
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, status: 'stored' } });

    const [stored] = await storedEvents();
    expect(stored).toMatchObject({ event_id: event.id, type: 'customer.created', last_error: null });
    expect(stored.processed_at).not.toBeNull();
    expect(stored.outcome).toMatch(/^ignored/);
  });
});

describe('Stripe webhook: failures roll back and are redelivered', () => {
  it('Stripe failing mid-event: stored and acknowledged, applying changes nothing, and the redelivery applies once', async () => {
    const created = await pendingPayment();
    const { intent, event } = await declinedIntent(created.id);
    h.stripe.failNext({ method: 'GET', path: `/v1/payment_intents/${intent.id}` }, { status: 500 });

    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect((await payment(created.id)).status).toBe('PENDING');
    expect(await transitions(created.id)).toEqual([]);
    expect(await alerts()).toEqual([]);
    const [failed] = await storedEvents();
    expect(failed).toMatchObject({ event_id: event.id, processed_at: null, attempts: 1, outcome: null });
    expect(failed.last_error).toMatch(/Stripe/);
    expect(failed.next_attempt_at).not.toBeNull();

    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, status: 'requeued' } });
    expect(await deliver(event)).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect((await payment(created.id)).status).toBe('FAILED');
    expect(await transitions(created.id)).toEqual(['PENDING->FAILED']);
    expect(await alerts()).toMatchObject([{ type: 'PAYMENT_FAILED', occurrences: 1 }]);
    expect(await storedEvents()).toMatchObject([{ attempts: 2, last_error: null, next_attempt_at: null }]);
  });

  it('a database error while applying leaves the event stored and failed, the payment PENDING until redelivered', async () => {
    const { id, events } = await paidPayment();
    const succeeded = ofType(events, 'payment_intent.succeeded');
    await sql(`create or replace function recoup_test_refuse_audit() returns trigger language plpgsql as $f$ begin raise exception 'audit log is read-only'; end $f$`);
    await sql(`create trigger recoup_test_refuse_audit before insert on audit_entries for each row execute function recoup_test_refuse_audit()`);
    try {
      expect(await deliver(succeeded)).toEqual({ status: 200, body: { received: true, status: 'stored' } });
      expect((await payment(id)).status).toBe('PENDING');
      expect(await storedEvents()).toMatchObject([{ processed_at: null, attempts: 1, last_error: expect.stringContaining('audit log is read-only') }]);
    } finally {
      await sql(`drop trigger if exists recoup_test_refuse_audit on audit_entries`);
    }

    expect(await deliver(succeeded)).toEqual({ status: 200, body: { received: true, status: 'requeued' } });
    expect((await payment(id)).status).toBe('SUCCEEDED');
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
  });

  it('an event the database cannot store answers 503 and leaves nothing behind; the redelivery is stored and applied', async () => {
    const { id, events } = await paidPayment();
    const succeeded = ofType(events, 'payment_intent.succeeded');
    await sql(`create or replace function recoup_test_refuse_inbox() returns trigger language plpgsql as $f$ begin raise exception 'disk full'; end $f$`);
    await sql(`create trigger recoup_test_refuse_inbox before insert on gateway_events for each row execute function recoup_test_refuse_inbox()`);
    try {
      expect(await deliver(succeeded)).toEqual({ status: 503, body: { error: 'Event not stored; please retry' } });
      expect(await storedEvents()).toEqual([]);
      expect((await payment(id)).status).toBe('PENDING');
    } finally {
      await sql(`drop trigger if exists recoup_test_refuse_inbox on gateway_events`);
    }
    expect(await deliver(succeeded)).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect((await payment(id)).status).toBe('SUCCEEDED');
  });
});

describe('Stripe webhook: acknowledged once stored, applied from the inbox', () => {
  it('answers 200 while the payment row is locked by someone else, and applies the event once the lock is gone', async () => {
    const { id, events } = await paidPayment();
    const succeeded = ofType(events, 'payment_intent.succeeded');
    const body = JSON.stringify(succeeded);
    const headers = { 'content-type': 'application/json', 'stripe-signature': h.stripe.signPayload(body) };
    // An operator's long transaction holds the payment: applying has to wait, acknowledging does not.
    const holder = h.app.services.orm.em.fork();
    await holder.begin();
    try {
      await holder.execute(`select id from payments where id = ? for update`, [id]);
      const response = await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers, body });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true, status: 'stored' });
      expect(await storedEvents()).toMatchObject([{ event_id: succeeded.id, processed_at: null }]);
      expect((await payment(id)).status).toBe('PENDING');
    } finally {
      await holder.rollback();
    }
    await h.app.services.intake.whenIdle();
    expect((await payment(id)).status).toBe('SUCCEEDED');
    expect(await storedEvents()).toMatchObject([{ outcome: 'PENDING -> SUCCEEDED', attempts: 1, last_error: null }]);
  });

  it('an event another instance stored and announced (NOTIFY recoup_inbox) is applied here without a sweep', async () => {
    const { id, events } = await paidPayment();
    const succeeded = ofType(events, 'payment_intent.succeeded');
    // What another instance's route does before it is killed: the insert and its NOTIFY, nothing more.
    await sql(
      `with stored as (
         insert into gateway_events (id, gateway, event_id, type, payload, received_at, attempts, next_attempt_at, created_at, updated_at)
         values (gen_random_uuid(), 'stripe', ?, ?, ?, now(), 0, now(), now(), now()) returning id)
       select pg_notify('recoup_inbox', 'another-instance') from stored`,
      [succeeded.id, succeeded.type, JSON.stringify(succeeded)],
    );
    await eventually(async () => (await payment(id)).status === 'SUCCEEDED');
    expect(await storedEvents()).toMatchObject([{ outcome: 'PENDING -> SUCCEEDED', attempts: 1 }]);
  });

  it('an event stored by a process that died before applying it is applied by the sweep', async () => {
    const { id, events } = await paidPayment();
    const succeeded = ofType(events, 'payment_intent.succeeded');
    // What the route leaves behind when the process is killed right after the commit: a stored, unapplied row.
    await sql(
      `insert into gateway_events (id, gateway, event_id, type, payload, received_at, attempts, next_attempt_at, created_at, updated_at)
       values (gen_random_uuid(), 'stripe', ?, ?, ?, now(), 0, now(), now(), now())`,
      [succeeded.id, succeeded.type, JSON.stringify(succeeded)],
    );
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 1, succeeded: 1, failed: 0 });
    expect((await payment(id)).status).toBe('SUCCEEDED');
    expect(await deliver(succeeded)).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
  });
});
