import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';

/**
 * A cancellation or refund Recoup made itself raises no webhook alert, whichever arrives first:
 * Stripe's event or our own write. Keyed on our record of the action (the release request in the
 * audit log, the Refund row), not on the event's fields.
 */
describe('no echo alerts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const status = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor } }`, { id })).payment;
  const alertTypes = async () => must(await h.gql(`{ alerts(first: 50) { edges { node { type subjectId } } } }`)).alerts.edges.map((e: { node: { type: string } }) => e.node.type).sort();
  /** Stripe's events since `count` were made, delivered in the order Stripe made them. */
  async function deliverSince(count: number): Promise<FakeEvent[]> {
    const all = h.stripe.store.events.newestFirst();
    const fresh = all.slice(0, all.length - count).reverse();
    for (const event of fresh) expect(await h.stripe.sendEvent(event as never)).toBe(200);
    await h.app.services.intake.whenIdle();
    return fresh;
  }
  const eventCount = () => h.stripe.store.events.newestFirst().length;

  async function authorized() {
    const { customerId, planId } = await seedCatalog(h, { captureMode: 'MANUAL' });
    await h.app.services.db.fork().execute(`update customers set telegram_user_id = null where id = ?`, [customerId]); // not delivered, so not captured
    const payment = await createPayment(h, customerId, planId);
    const paid = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { captureMethod: 'manual' });
    await eventually(async () => (await status(payment.id)).status === 'AUTHORIZED');
    return { id: payment.id, intentId: paid.paymentIntent.id as string };
  }

  async function paid() {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const done = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await status(payment.id)).status === 'SUCCEEDED');
    await h.app.services.dispatcher.whenIdle();
    return { id: payment.id, intentId: done.paymentIntent.id as string };
  }

  it('an operator release whose answer was lost: Stripe’s payment_intent.canceled arrives first and raises nothing', async () => {
    const { id, intentId } = await authorized();
    const before = eventCount();
    h.stripe.failNext({ method: 'POST', path: /\/cancel$/ }, { afterExecute: true, status: 500 });
    const release = await h.gql(`mutation($id: ID!) { releaseAuthorization(paymentId: $id, reason: "customer left") { status } }`, { id }, { token: h.tokens.operator });
    expect(release.errors?.length).toBeGreaterThan(0);
    expect((await status(id)).status).toBe('AUTHORIZED'); // our write never happened
    expect(h.stripe.store.paymentIntents.get(intentId).status).toBe('canceled');

    const echoes = await deliverSince(before);
    expect(echoes.map((e) => e.type)).toContain('payment_intent.canceled');
    expect((await status(id)).status).toBe('CANCELLED');
    expect(await alertTypes()).toEqual([]);
  });

  it('a cancellation nobody at Recoup asked for still raises PAYMENT_CANCELED', async () => {
    const { id, intentId } = await authorized();
    const before = eventCount();
    const cancelled = await fetch(`${h.stripe.url}/v1/payment_intents/${intentId}/cancel`, { method: 'POST', headers: { authorization: 'Bearer sk_test_recoup' } });
    expect(cancelled.status).toBe(200);
    await deliverSince(before);
    expect((await status(id)).status).toBe('CANCELLED');
    expect(await alertTypes()).toEqual(['PAYMENT_CANCELED']);
  });

  it('an operator refund whose answer was lost: Stripe’s charge.refunded arrives first and raises nothing', async () => {
    const { id } = await paid();
    const before = eventCount();
    h.stripe.failNext({ method: 'POST', path: /^\/v1\/refunds$/ }, { afterExecute: true, status: 500 });
    const refund = await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, reason: "customer asked") { refund { status } } }`, { id }, { token: h.tokens.operator });
    expect(refund.errors?.length).toBeGreaterThan(0);
    expect((await status(id)).status).toBe('SUCCEEDED');

    const echoes = await deliverSince(before);
    expect(echoes.map((e) => e.type)).toContain('charge.refunded');
    expect(await status(id)).toEqual({ status: 'REFUNDED', refundedMinor: 2500 });
    expect(await alertTypes()).toEqual([]);
  });

  it('an operator refund recorded first: its echo raises nothing; a refund made in Stripe’s dashboard still alerts', async () => {
    const first = await paid();
    const before = eventCount();
    must(await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, amountMinor: 1000, reason: "goodwill") { refund { status } } }`, { id: first.id }, { token: h.tokens.operator }));
    await deliverSince(before);
    expect(await status(first.id)).toEqual({ status: 'SUCCEEDED', refundedMinor: 1000 });
    expect(await alertTypes()).toEqual([]);

    // Now someone refunds the rest in Stripe's dashboard: that is news.
    await h.stripe.refundCharge(first.intentId, { amount: 1500 });
    await h.app.services.intake.whenIdle();
    expect(await status(first.id)).toEqual({ status: 'REFUNDED', refundedMinor: 2500 });
    expect(await alertTypes()).toEqual(['PAYMENT_REFUNDED']);
  });
});
