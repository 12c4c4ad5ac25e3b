import { startFakeStripe, type FakeEvent, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, declinedPaymentEvent, must, seedCatalog } from '../support/fixtures';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../support/harness';

/**
 * The inbox for operators: inboundEvents lists the stored webhook events (never their payload),
 * newest first, filtered and paged; replayInboundEvent (ADMIN, audited) applies one again through
 * the same claim and applier as the retry sweep, and never applies an applied event twice.
 */

const SECOND = 1_000;
const TG_SECRET = 'tg-inbound-events-secret';
const NODE = 'id source eventId type receivedAt appliedAt outcome attempts lastError nextAttemptAt gaveUp';

let h: Harness;
let clock: ManualClock;
let stripe: FakeStripe;

beforeAll(async () => {
  clock = new ManualClock();
  stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET, clock });
  h = await startHarness({ clock, stripe, env: { GATEWAY_EVENT_MAX_ATTEMPTS: '2', TELEGRAM_WEBHOOK_SECRET: TG_SECRET } });
});
afterAll(async () => {
  await h?.close();
  await stripe?.close();
});
beforeEach(async () => h.reset());

/** Posts the signed event as Stripe would, one second after the previous one, and waits until it was applied (or failed). */
async function deliver(event: FakeEvent | Record<string, unknown>): Promise<void> {
  clock.advance(SECOND);
  const body = JSON.stringify(event);
  const headers = { 'content-type': 'application/json', 'stripe-signature': h.stripe.signPayload(body) };
  expect((await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers, body })).status).toBe(200);
  await h.app.services.intake.whenIdle();
}

async function deliverTelegram(update: Record<string, unknown>): Promise<void> {
  clock.advance(SECOND);
  const headers = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET };
  expect((await fetch(`${h.url}/webhooks/telegram`, { method: 'POST', headers, body: JSON.stringify(update) })).status).toBe(200);
  await h.app.services.intake.whenIdle();
}

/** The intent re-read that applying a payment_intent.payment_failed makes answers 500 once. */
const breakStripe = (intentId: string) => h.stripe.failNext({ method: 'GET', path: `/v1/payment_intents/${intentId}` }, { status: 500 });

const paymentStatus = async (id: string): Promise<string> => must(await h.gql(`query($id: ID!) { payment(id: $id) { status } }`, { id })).payment.status;

type Node = Record<string, any>;

async function list(variables: Record<string, unknown> = {}, token = h.tokens.viewer): Promise<{ totalCount: number; pageInfo: Record<string, any>; edges: Array<{ cursor: string; node: Node }>; nodes: Node[] }> {
  const data = must(
    await h.gql(
      `query($filter: InboundEventFilter, $first: Int, $after: String) {
         inboundEvents(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { ${NODE} } } }
       }`,
      variables,
      { token },
    ),
  );
  return { ...data.inboundEvents, nodes: data.inboundEvents.edges.map((e: any) => e.node) };
}

const eventIds = async (filter?: Record<string, unknown>): Promise<string[]> => (await list({ filter, first: 50 })).nodes.map((n: Node) => n.eventId);

const replay = (id: string, token = h.tokens.admin) => h.gql(`mutation($id: ID!) { replayInboundEvent(id: $id) { ${NODE} } }`, { id }, { token });

async function rowId(eventId: string): Promise<string> {
  const [row] = await h.app.services.db.fork().execute(`select id from gateway_events where event_id = ?`, [eventId]);
  return row.id;
}

async function auditTrail(subject: string) {
  const data = must(await h.gql(`query($s: ID!) { auditTrail(subject: $s, first: 100) { edges { node { actor action subjectType before after note } } } }`, { s: subject }));
  return data.auditTrail.edges.map((e: any) => e.node) as Array<Record<string, any>>;
}

async function gatewayEventAlerts(open: boolean) {
  const data = must(await h.gql(`query($open: Boolean) { alerts(first: 50, filter: { open: $open, types: [GATEWAY_EVENT_FAILED] }) { edges { node { subjectId resolvedBy resolutionNote } } } }`, { open }));
  return data.alerts.edges.map((e: any) => e.node) as Array<Record<string, any>>;
}

/** A checkout paid on Stripe's page; its four events delivered one by one, in Stripe's order. */
async function paidCheckout() {
  const { customerId, planId } = await seedCatalog(h);
  const payment = await createPayment(h, customerId, planId);
  const paid = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
  for (const event of paid.events) await deliver(event);
  await h.app.services.dispatcher.whenIdle();
  const byType = (type: string) => paid.events.find((e) => e.type === type)!;
  return { paymentId: payment.id, events: paid.events.map((e) => e.id), succeeded: byType('payment_intent.succeeded') };
}

/** A declined payment whose payment_intent.payment_failed could not be applied (Stripe's re-read failed). */
async function failedEvent() {
  const { paymentId, paymentIntent, event } = await declinedPaymentEvent(h);
  breakStripe(paymentIntent.id);
  await deliver(event);
  return { paymentId, intentId: paymentIntent.id as string, eventId: event.id };
}

/** As failedEvent, and its second (last) attempt failed too: given up, with a GATEWAY_EVENT_FAILED alert. */
async function gaveUpEvent() {
  const failed = await failedEvent();
  clock.advance(10 * SECOND);
  breakStripe(failed.intentId);
  expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 1, succeeded: 0, failed: 1 });
  return failed;
}

/**
 * Seven events, a second apart: a paid checkout's four (applied), one given up, one failed and
 * waiting for its retry, and a Telegram update (applied: ignored).
 */
async function seedInbox() {
  const paid = await paidCheckout();
  const gaveUp = await gaveUpEvent();
  const failed = await failedEvent();
  await deliverTelegram({ update_id: 424242, message: { message_id: 1, date: 1, chat: { id: -100777, type: 'supergroup', title: 'Signals' }, text: 'hello' } });
  const newestFirst = ['424242', failed.eventId, gaveUp.eventId, ...[...paid.events].reverse()];
  return { paid, gaveUp, failed, newestFirst };
}

describe('inboundEvents', () => {
  it('lists every stored event newest first, to a VIEWER, with what applying each did', async () => {
    const { paid, gaveUp, failed, newestFirst } = await seedInbox();
    const all = await list({ first: 50 });
    expect(all.totalCount).toBe(7);
    expect(all.nodes.map((n) => n.eventId)).toEqual(newestFirst);

    const byId = new Map(all.nodes.map((n) => [n.eventId, n]));
    const succeeded = byId.get(paid.succeeded.id)!;
    expect(succeeded).toMatchObject({ source: 'STRIPE', type: 'payment_intent.succeeded', outcome: 'PENDING -> SUCCEEDED', attempts: 1, lastError: null, nextAttemptAt: null, gaveUp: false });
    expect(succeeded.appliedAt).not.toBeNull();
    expect(new Date(succeeded.receivedAt).getTime()).toBeLessThanOrEqual(new Date(succeeded.appliedAt).getTime());

    expect(byId.get(gaveUp.eventId)).toMatchObject({ type: 'payment_intent.payment_failed', appliedAt: null, outcome: null, attempts: 2, nextAttemptAt: null, gaveUp: true });
    expect(byId.get(gaveUp.eventId)!.lastError).toMatch(/Stripe/);
    const waiting = byId.get(failed.eventId)!;
    expect(waiting).toMatchObject({ appliedAt: null, attempts: 1, gaveUp: false });
    expect(waiting.lastError).toMatch(/Stripe/);
    expect(new Date(waiting.nextAttemptAt).getTime()).toBeGreaterThan(clock.now().getTime());
    expect(byId.get('424242')).toMatchObject({ source: 'TELEGRAM', type: 'message', gaveUp: false, lastError: null });
    expect(byId.get('424242')!.outcome).toMatch(/^ignored/);
  });

  it('filters by source, exact type, applied and failed (given up included), alone and together', async () => {
    const { paid, gaveUp, failed, newestFirst } = await seedInbox();
    const checkout = [...paid.events].reverse();

    expect(await eventIds({ source: 'TELEGRAM' })).toEqual(['424242']);
    expect(await eventIds({ source: 'STRIPE' })).toEqual(newestFirst.slice(1));
    expect(await eventIds({ type: 'payment_intent.payment_failed' })).toEqual([failed.eventId, gaveUp.eventId]);
    expect(await eventIds({ type: 'payment_intent' })).toEqual([]); // exact, not a prefix
    expect(await eventIds({ applied: true })).toEqual(['424242', ...checkout]);
    expect(await eventIds({ applied: false })).toEqual([failed.eventId, gaveUp.eventId]);
    expect(await eventIds({ failed: true })).toEqual([failed.eventId, gaveUp.eventId]);
    expect(await eventIds({ failed: false })).toEqual(['424242', ...checkout]);
    expect(await eventIds({ source: 'STRIPE', applied: true })).toEqual(checkout);
    expect(await eventIds({ source: 'TELEGRAM', failed: true })).toEqual([]);
    expect((await list({ filter: { failed: true } })).totalCount).toBe(2);
  });

  it('pages with first and after, stable while events arrive; a bad cursor or page size is BAD_USER_INPUT', async () => {
    const { newestFirst } = await seedInbox();
    const seen: string[] = [];
    let after: string | null = null;
    const pages: boolean[] = [];
    for (;;) {
      const page = await list({ first: 3, after });
      expect(page.totalCount).toBe(7);
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...page.nodes.map((n) => n.eventId));
      pages.push(page.pageInfo.hasNextPage);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toEqual([true, true, false]);
    expect(seen).toEqual(newestFirst);

    // A new event does not shift the pages after a cursor: it is newer than all of them.
    const second = await list({ first: 3, after: (await list({ first: 3 })).pageInfo.endCursor });
    await deliverTelegram({ update_id: 424243, message: { message_id: 2, date: 2, chat: { id: -100777, type: 'supergroup', title: 'Signals' }, text: 'again' } });
    const again = await list({ first: 3, after: second.edges[0].cursor });
    expect(again.nodes.map((n) => n.eventId)).toEqual(newestFirst.slice(4, 7));

    const bad = await h.gql(`{ inboundEvents(after: "bm90LWEtY3Vyc29y") { totalCount } }`);
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const tooMany = await h.gql(`{ inboundEvents(first: 101) { totalCount } }`);
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('never exposes the payload, and needs a staff role', async () => {
    await paidCheckout();
    const payload = await h.gql(`{ inboundEvents { edges { node { id payload } } } }`);
    expect(payload.errors?.[0].message).toMatch(/Cannot query field "payload"/);
    const customer = await h.gql(`{ inboundEvents { totalCount } }`, {}, { token: null });
    expect(customer.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('replayInboundEvent', () => {
  it('is for ADMIN only: a VIEWER or OPERATOR is FORBIDDEN and the event stays as it was', async () => {
    const gaveUp = await gaveUpEvent();
    const id = await rowId(gaveUp.eventId);
    for (const token of [h.tokens.viewer, h.tokens.operator]) {
      const refused = await replay(id, token);
      expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    expect((await list({ filter: { failed: true } })).nodes).toMatchObject([{ id, attempts: 2, gaveUp: true, appliedAt: null }]);
    expect(await paymentStatus(gaveUp.paymentId)).toBe('PENDING');
    expect(await auditTrail(id)).toEqual([]);
  });

  it('an unknown id is NOT_FOUND', async () => {
    for (const id of ['7b0c1c9e-2f7a-4c59-9f3e-2d1f5a6b7c8d', 'evt_not_a_row_id']) {
      const missing = await replay(id);
      expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(missing.data).toBeNull();
    }
  });

  it('a given-up event, replayed once its cause is fixed, is applied now through the same rules, audited, and its alert resolved', async () => {
    const gaveUp = await gaveUpEvent();
    const id = await rowId(gaveUp.eventId);
    expect(await gatewayEventAlerts(true)).toMatchObject([{ subjectId: id }]);
    // Fixed: Stripe answers the re-read again (the faults were for one call each).

    const replayed = must(await replay(id)).replayInboundEvent;
    expect(replayed).toMatchObject({ id, eventId: gaveUp.eventId, outcome: 'PENDING -> FAILED', attempts: 1, lastError: null, nextAttemptAt: null, gaveUp: false });
    expect(replayed.appliedAt).toBe(clock.now().toISOString());
    expect(await paymentStatus(gaveUp.paymentId)).toBe('FAILED');

    const [entry, ...others] = await auditTrail(id);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      actor: 'operator:alice-admin',
      action: 'inbound_event.replay',
      subjectType: 'gateway_event',
      before: { attempts: 2, gaveUp: true, nextAttemptAt: null },
      after: { attempts: 0, nextAttemptAt: clock.now().toISOString() },
      note: `stripe event ${gaveUp.eventId} (payment_intent.payment_failed)`,
    });
    expect(entry.before.lastError).toMatch(/Stripe/);

    expect(await gatewayEventAlerts(true)).toEqual([]);
    expect(await gatewayEventAlerts(false)).toMatchObject([{ subjectId: id, resolvedBy: 'system:webhook-intake' }]);
    expect(await eventIds({ failed: true })).toEqual([]);
    // Nothing is left for the sweep.
    clock.advance(60 * SECOND);
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 0, succeeded: 0, failed: 0 });
  });

  it('a replay that fails again is recorded like any attempt, with its budget back; the next replay applies it', async () => {
    const failed = await failedEvent();
    const id = await rowId(failed.eventId);
    breakStripe(failed.intentId);

    const again = must(await replay(id)).replayInboundEvent;
    expect(again).toMatchObject({ appliedAt: null, attempts: 1, gaveUp: false });
    expect(again.lastError).toMatch(/Stripe/);
    expect(new Date(again.nextAttemptAt).getTime()).toBeGreaterThan(clock.now().getTime());
    expect(await paymentStatus(failed.paymentId)).toBe('PENDING');

    const applied = must(await replay(id)).replayInboundEvent;
    expect(applied).toMatchObject({ outcome: 'PENDING -> FAILED', attempts: 1, lastError: null });
    expect(await paymentStatus(failed.paymentId)).toBe('FAILED');
    expect((await auditTrail(id)).map((e) => e.action)).toEqual(['inbound_event.replay', 'inbound_event.replay']);
  });

  it('replaying an applied payment_intent.succeeded changes nothing: no second transition, audit entry, delivery or message', async () => {
    const paid = await paidCheckout();
    expect(await paymentStatus(paid.paymentId)).toBe('SUCCEEDED');
    const id = await rowId(paid.succeeded.id);
    const [before] = (await list({ filter: { type: 'payment_intent.succeeded' } })).nodes;
    const trail = await auditTrail(paid.paymentId);
    expect(trail.filter((e) => e.after?.status === 'SUCCEEDED')).toHaveLength(1);
    const sql = h.app.services.db.fork();
    const deliveries = await sql.execute(`select status, attempts from deliveries where payment_id = ?`, [paid.paymentId]);
    expect(deliveries).toMatchObject([{ status: 'DELIVERED' }]);
    const messages = h.telegram.messagesTo().length;
    expect(messages).toBe(1);

    clock.advance(5 * SECOND);
    for (let i = 0; i < 2; i++) expect(must(await replay(id)).replayInboundEvent).toEqual(before);
    await h.app.services.dispatcher.whenIdle();

    expect(await paymentStatus(paid.paymentId)).toBe('SUCCEEDED');
    expect(await auditTrail(paid.paymentId)).toEqual(trail);
    expect(await h.app.services.db.fork().execute(`select status, attempts from deliveries where payment_id = ?`, [paid.paymentId])).toEqual(deliveries);
    expect(h.telegram.messagesTo()).toHaveLength(messages);
    // Nothing was done, so nothing is audited on the event either.
    expect(await auditTrail(id)).toEqual([]);
  });

  it('an event refused for good when stored (an id that could not be stored as sent) is CONFLICT, not applied on a guessed value', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const paid = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    const succeeded = structuredClone(paid.events.find((e) => e.type === 'payment_intent.succeeded')!) as any;
    succeeded.data.object.metadata.paymentId = `${payment.id}\ud800`;
    await deliver(succeeded);
    const id = await rowId(succeeded.id);
    expect((await list({ filter: { failed: true } })).nodes).toMatchObject([{ id, gaveUp: true, attempts: 1 }]);

    const refused = await replay(id);
    expect(refused.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(refused.errors?.[0].message).toMatch(/can never be applied/);
    expect(await paymentStatus(payment.id)).toBe('PENDING');
    expect(await auditTrail(id)).toEqual([]);
  });
});
