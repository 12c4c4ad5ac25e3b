import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';
import type { DeliveryResult } from '../../src/sandbox/stripe/fake-stripe.webhooks';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

/**
 * Correctly signed events whose money does not fit the payment (2500 USD): never recorded as sent.
 * Recoup re-reads the object from the fake Stripe, records what it says, and raises a HIGH
 * WEBHOOK_MONEY_MISMATCH alert.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.reset());

async function post(event: FakeEvent) {
  const body = JSON.stringify(event);
  const response = await fetch(`${h.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': h.stripe.signPayload(body) },
    body,
  });
  const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
  // Answered once stored; applied right after, from the inbox.
  await h.app.services.intake.whenIdle();
  return answer;
}
const allOk = (deliveries: DeliveryResult[]) => expect(deliveries.map((d) => d.status)).toEqual(deliveries.map(() => 200));
const ofType = (events: FakeEvent[], type: string) => events.find((e) => e.type === type)!;
const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);

async function payment(id: string): Promise<{ status: string; refundedMinor: number }> {
  return must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor } }`, { id })).payment;
}

interface AlertNode { type: string; severity: string; title: string; detail: string; occurrences: number; subjectId: string }
async function alerts(...types: string[]): Promise<AlertNode[]> {
  const data = must(await h.gql(`query($types: [AlertType!]) { alerts(first: 50, filter: { types: $types }) { edges { node { type severity title detail occurrences subjectId } } } }`, { types }));
  return data.alerts.edges.map((e: { node: AlertNode }) => e.node);
}
const moneyAlerts = () => alerts('WEBHOOK_MONEY_MISMATCH');

/** A 2500 USD payment the customer paid, with every event delivered: SUCCEEDED. */
async function paidPayment() {
  const { customerId, planId } = await seedCatalog(h);
  const created = await createPayment(h, customerId, planId);
  const paid = await h.stripe.completeCheckout(created.stripeCheckoutSessionId);
  allOk(paid.deliveries);
  expect(await payment(created.id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
  const chargeId = paid.paymentIntent.latest_charge!;
  return { id: created.id, intent: paid.paymentIntent, chargeId, charge: () => h.stripe.store.charges.get(chargeId) };
}

/** A charge.refunded event for the real charge, with the given fields changed; signed, but the figures are the sender's. */
function forgedRefund(charge: Record<string, unknown>, changes: Record<string, unknown>): FakeEvent {
  return h.stripe.createEvent('charge.refunded', { ...structuredClone(charge), refunded: true, ...changes });
}

describe('webhook money: charge.refunded', () => {
  it('a refund total above the payment (999999 of 2500) is not recorded: Stripe says nothing was refunded', async () => {
    const { id, charge } = await paidPayment();

    expect((await post(forgedRefund(charge(), { amount_refunded: 999_999 }))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ type: 'WEBHOOK_MONEY_MISMATCH', severity: 'HIGH', subjectId: id, title: 'Stripe event disagreed with Stripe: 2500 USD' });
    expect(alert.detail).toContain('amount refunded 999999 is more than the 2500 charged');
    expect(alert.detail).toContain("Stripe's charge says 0 of 2500 USD refunded");
    expect(await alerts('PAYMENT_REFUNDED')).toEqual([]);
  });

  it('a refund total above the payment records what Stripe says instead (a real 1000 refund)', async () => {
    const { id, intent, charge } = await paidPayment();
    await h.stripe.refundCharge(intent.id, { amount: 1000 }, { sendWebhooks: false });

    expect((await post(forgedRefund(charge(), { amount_refunded: 999_999 }))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 1000 });
    expect(await moneyAlerts()).toMatchObject([{ severity: 'HIGH', subjectId: id }]);
    expect((await alerts('PAYMENT_REFUNDED')).map((a) => a.title)).toEqual(['Payment partly refunded: 1000 of 2500 USD']);
  });

  it('a negative refunded amount is not recorded; Stripe’s full refund is', async () => {
    const { id, intent, charge } = await paidPayment();
    await h.stripe.refundCharge(intent.id, {}, { sendWebhooks: false });

    expect((await post(forgedRefund(charge(), { amount_refunded: -500 }))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'REFUNDED', refundedMinor: 2500 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: id });
    expect(alert.detail).toContain('amount refunded -500 is not a whole, non-negative number of minor units');
  });

  it('a non-integer refunded amount is not recorded', async () => {
    const { id, charge } = await paidPayment();

    expect((await post(forgedRefund(charge(), { amount_refunded: 2499.5 }))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    expect(await moneyAlerts()).toMatchObject([{ severity: 'HIGH', subjectId: id }]);
  });

  it('a refund in another currency is not taken at its word: Stripe’s 1000 USD is recorded', async () => {
    const { id, intent, charge } = await paidPayment();
    await h.stripe.refundCharge(intent.id, { amount: 1000 }, { sendWebhooks: false });

    expect((await post(forgedRefund(charge(), { amount_refunded: 2500, currency: 'eur' }))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 1000 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: id });
    expect(alert.detail).toContain("currency EUR differs from the payment's USD");
  });

  it('a normal partial refund is recorded as before, with no money alert', async () => {
    const { id, intent } = await paidPayment();

    allOk((await h.stripe.refundCharge(intent.id, { amount: 1000 })).deliveries);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 1000 });
    expect(await moneyAlerts()).toEqual([]);
    expect((await alerts('PAYMENT_REFUNDED')).map((a) => a.title)).toEqual(['Payment partly refunded: 1000 of 2500 USD']);
    // The event's figures fitted: no second look at Stripe was needed.
    expect(h.stripe.countRequests('GET', '/v1/charges')).toBe(0);
  });

  it('when Stripe’s own figures are impossible too, nothing is recorded and the alert says so', async () => {
    const { id, charge } = await paidPayment();
    charge().amount_refunded = 999_999; // Stripe itself answering nonsense

    expect((await post(forgedRefund(charge(), {}))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: id, title: 'Stripe reports impossible refund figures: 2500 USD' });
    expect(alert.detail).toContain('Nothing was recorded');
  });

  it('when Stripe cannot be asked, applying the event fails and it is retried; its numbers are never recorded', async () => {
    const { id, chargeId, charge } = await paidPayment();
    const event = forgedRefund(charge(), { amount_refunded: 999_999 });
    h.stripe.failNext({ method: 'GET', path: `/v1/charges/${chargeId}` }, { status: 500 });

    expect(await post(event)).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    expect(await moneyAlerts()).toEqual([]);
    const [stored] = await sql(`select processed_at, attempts, last_error, next_attempt_at from gateway_events where event_id = ?`, [event.id]);
    expect(stored).toMatchObject({ processed_at: null, attempts: 1 });
    expect(stored.next_attempt_at).not.toBeNull();

    // The redelivery reaches Stripe and records what Stripe says.
    expect(await post(event)).toEqual({ status: 200, body: { received: true, status: 'requeued' } });
    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    expect(await moneyAlerts()).toMatchObject([{ occurrences: 1, subjectId: id }]);
  });

  it('the same disagreement twice is one alert with a counter', async () => {
    const { id, charge } = await paidPayment();

    expect((await post(forgedRefund(charge(), { amount_refunded: 999_999 }))).status).toBe(200);
    expect((await post(forgedRefund(charge(), { amount_refunded: 888_888 }))).status).toBe(200);

    expect(await moneyAlerts()).toMatchObject([{ occurrences: 2, subjectId: id }]);
    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
  });
});

describe('webhook money: payment_intent.succeeded, checkout and disputes', () => {
  /** A PENDING 2500 USD payment; the customer pays, the events are held back. */
  async function paidUndelivered() {
    const { customerId, planId } = await seedCatalog(h);
    const created = await createPayment(h, customerId, planId);
    const paid = await h.stripe.completeCheckout(created.stripeCheckoutSessionId, { sendWebhooks: false });
    return { id: created.id, intent: paid.paymentIntent, events: paid.events };
  }

  it('a success whose amount the sender changed succeeds as Stripe has it, and raises the alert', async () => {
    const { id, intent } = await paidUndelivered();
    const forged = h.stripe.createEvent('payment_intent.succeeded', { ...structuredClone(intent), amount: 100, amount_received: 100 });

    expect((await post(forged)).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: id, title: 'Stripe event disagreed with Stripe: 2500 USD' });
    expect(alert.detail).toContain("amount 100 differs from the payment's 2500");
    expect(alert.detail).toContain("Stripe's intent agrees with the payment (2500 USD, succeeded)");
  });

  it('an intent Stripe confirms was for another amount and currency is not SUCCEEDED silently', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const created = await createPayment(h, customerId, planId);
    const { events } = await h.stripe.createPaymentIntentDirect({ amount: 100, currency: 'eur', metadata: { paymentId: created.id } }, { sendWebhooks: false });

    expect((await post(ofType(events, 'payment_intent.succeeded'))).status).toBe(200);

    // The status follows Stripe, as for any success; the difference is an alert, not silence.
    expect(await payment(created.id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: created.id, title: 'Stripe charged a different amount than the payment: 2500 USD' });
    expect(alert.detail).toContain("amount 100 differs from the payment's 2500");
    expect(alert.detail).toContain("currency EUR differs from the payment's USD");
  });

  it('a normal success raises no money alert and asks Stripe nothing', async () => {
    const { id, events } = await paidUndelivered();
    const reads = h.stripe.countRequests('GET', '/v1/payment_intents');

    expect((await post(ofType(events, 'payment_intent.succeeded'))).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    expect(await moneyAlerts()).toEqual([]);
    expect(h.stripe.countRequests('GET', '/v1/payment_intents')).toBe(reads);
  });

  it('a completed checkout whose amount_total was changed is checked against Stripe’s session', async () => {
    const { id, events } = await paidUndelivered();
    const completed = ofType(events, 'checkout.session.completed');
    const forged = h.stripe.createEvent('checkout.session.completed', { ...structuredClone(completed.data.object), amount_total: 1, currency: 'gbp' });

    expect((await post(forged)).status).toBe(200);

    expect(await payment(id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 0 });
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: id });
    expect(alert.detail).toContain("amount 1 differs from the payment's 2500");
  });

  it('a dispute whose amount exceeds the payment is recorded only because Stripe confirms the charge is disputed', async () => {
    const { id, intent, events } = await paidUndelivered();
    for (const event of events) expect((await post(event)).status).toBe(200);
    const { events: disputed } = await h.stripe.disputeCharge(intent.latest_charge!, {}, { sendWebhooks: false });
    const dispute = ofType(disputed, 'charge.dispute.created');
    const forged = h.stripe.createEvent('charge.dispute.created', { ...structuredClone(dispute.data.object), amount: 999_999 });

    expect((await post(forged)).status).toBe(200);

    expect((await payment(id)).status).toBe('DISPUTED');
    const [alert] = await moneyAlerts();
    expect(alert).toMatchObject({ severity: 'HIGH', subjectId: id });
    expect(alert.detail).toContain("amount disputed 999999 is more than the payment's 2500");
    const [disputeAlert] = await alerts('PAYMENT_DISPUTED');
    expect(disputeAlert.detail).not.toContain('999999');
  });

  it('a dispute event with impossible figures for a charge Stripe says is not disputed changes nothing', async () => {
    const { id, intent, events } = await paidUndelivered();
    for (const event of events) expect((await post(event)).status).toBe(200);
    const charge = h.stripe.store.charges.get(intent.latest_charge!);
    const forged = h.stripe.createEvent('charge.dispute.created', {
      id: 'dp_forged', object: 'dispute', amount: -1, currency: 'usd', charge: charge.id, payment_intent: intent.id, reason: 'fraudulent', metadata: {},
    });

    expect((await post(forged)).status).toBe(200);

    expect((await payment(id)).status).toBe('SUCCEEDED');
    expect(await moneyAlerts()).toMatchObject([{ severity: 'HIGH', subjectId: id }]);
    expect(await alerts('PAYMENT_DISPUTED')).toEqual([]);
  });
});
