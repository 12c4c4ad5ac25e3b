import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * A full refund that fails at Stripe leaves the payment REFUNDED with the money owed again
 * (refundedMinor lowered). An operator can then refund again, once: what failed goes back, and
 * nothing more.
 */
let h: Harness;

const PAYMENT = `query($id: ID!) { payment(id: $id) { status refundedMinor deliveryStatus refunds { amountMinor status stripeRefundId } } }`;
const payment = async (id: string) => must(await h.gql(PAYMENT, { id })).payment;
const REFUND = `mutation($id: ID!, $amount: Int) { refundPayment(paymentId: $id, amountMinor: $amount, reason: "customer asked") { refund { id status stripeRefundId amountMinor } payment { status refundedMinor } } }`;
const refund = (paymentId: string, amountMinor: number | null = null) => h.gql(REFUND, { id: paymentId, amount: amountMinor }, { token: h.tokens.operator });
const settle = async () => {
  await h.stripe.whenIdle();
  await h.app.services.intake.whenIdle();
  await h.app.services.dispatcher.whenIdle();
  await h.app.services.telegramOutbox.whenIdle();
};
const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const refundAlerts = async () =>
  must(await h.gql(`{ alerts(filter: { types: [REFUND_FAILED] }) { edges { node { subjectId resolvedAt resolvedBy resolutionNote } } } }`)).alerts.edges.map((e: any) => e.node);
/** Stripe's refunds of this intent (the fake's own store), failed ones first. */
const stripeRefunds = (intentId: string) =>
  h.stripe.store.refunds
    .newestFirst()
    .filter((r) => r.payment_intent === intentId)
    .sort((x, y) => x.status.localeCompare(y.status));
const chargeOf = (intentId: string) => h.stripe.store.charges.find(h.stripe.store.paymentIntents.find(intentId)!.latest_charge!)!;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.reset());

/** Paid, delivered, fully refunded, and then that refund failed at Stripe (refund.updated + refund.failed sent). */
async function refundedThenFailed() {
  const { customerId, planId } = await seedCatalog(h);
  const created = await createPayment(h, customerId, planId);
  const { paymentIntent } = await h.stripe.completeCheckout(created.stripeCheckoutSessionId);
  await eventually(async () => (await payment(created.id)).deliveryStatus === 'DELIVERED');
  const full = must(await refund(created.id)).refundPayment;
  await settle();
  expect(full.payment).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
  await h.stripe.failRefund(full.refund.stripeRefundId, 'expired_or_canceled_card');
  await settle();
  expect(await payment(created.id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 0, refunds: [{ amountMinor: 2500, status: 'FAILED' }] });
  expect(await refundAlerts()).toMatchObject([{ subjectId: created.id, resolvedAt: null }]);
  return { id: created.id, customerId, intentId: paymentIntent.id, failedStripeRefundId: full.refund.stripeRefundId as string };
}

describe('refunding again after a refund failed at Stripe', () => {
  it('a REFUNDED payment whose refund failed is refunded again: one succeeded refund at Stripe, REFUNDED, the alert resolved; a third refund is refused', async () => {
    const { id, customerId, intentId, failedStripeRefundId } = await refundedThenFailed();
    const messagesBefore = h.telegram.callsTo('sendMessage').length;

    const again = must(await refund(id)).refundPayment;
    await settle();

    expect(again.refund).toMatchObject({ status: 'SUCCEEDED', amountMinor: 2500 });
    expect(again.refund.stripeRefundId).not.toBe(failedStripeRefundId);
    expect(again.payment).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    // After the webhooks of the new refund too.
    expect(await payment(id)).toMatchObject({
      status: 'REFUNDED',
      refundedMinor: 2500,
      refunds: [
        { amountMinor: 2500, status: 'FAILED', stripeRefundId: failedStripeRefundId },
        { amountMinor: 2500, status: 'SUCCEEDED', stripeRefundId: again.refund.stripeRefundId },
      ],
    });
    expect(stripeRefunds(intentId).map((r) => [r.id, r.status, r.amount])).toEqual([
      [failedStripeRefundId, 'failed', 2500],
      [again.refund.stripeRefundId, 'succeeded', 2500],
    ]);
    expect(chargeOf(intentId).amount_refunded).toBe(2500);
    const [alert] = await refundAlerts();
    expect(alert.resolvedAt).not.toBeNull();
    expect(alert.resolutionNote).toBe('refunded again by operator:olga-operator: 2500 of 2500 USD refunded');
    // Access stays ended: no new subscription, no new message.
    expect((await sql(`select status from subscriptions where customer_id = ?`, [customerId])).map((s) => s.status)).toEqual(['LAPSED']);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(messagesBefore);

    // Nothing is left: refused (typed), and Stripe is not asked.
    const posts = h.stripe.countRequests('POST', '/v1/refunds');
    const third = await refund(id);
    expect(third.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', status: 'REFUNDED' });
    const partial = await refund(id, 1);
    expect(partial.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(h.stripe.countRequests('POST', '/v1/refunds')).toBe(posts);
    expect(stripeRefunds(intentId).filter((r) => r.status === 'succeeded')).toHaveLength(1);
  });

  it('never more than what failed: an amount above what is owed is refused with BAD_USER_INPUT; a part, then the rest, works', async () => {
    const { id, intentId } = await refundedThenFailed();
    const posts = h.stripe.countRequests('POST', '/v1/refunds');

    const over = await refund(id, 2501);
    expect(over.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', requestedMinor: 2501, remainingMinor: 2500 });
    expect(h.stripe.countRequests('POST', '/v1/refunds')).toBe(posts);

    const part = must(await refund(id, 1000)).refundPayment;
    expect(part.payment).toMatchObject({ status: 'REFUNDED', refundedMinor: 1000 });
    await settle();
    // Not settled yet: 1500 still owed, the alert stays open.
    expect((await refundAlerts())[0].resolvedAt).toBeNull();
    const tooMuch = await refund(id, 1501);
    expect(tooMuch.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 1500 });

    const rest = must(await refund(id)).refundPayment;
    await settle();
    expect(rest.refund).toMatchObject({ status: 'SUCCEEDED', amountMinor: 1500 });
    expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    expect(stripeRefunds(intentId).filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + r.amount, 0)).toBe(2500);
    expect((await refundAlerts())[0].resolvedAt).not.toBeNull();
  });

  it('two operators refunding again at once: one refund goes through, the other is refused', async () => {
    const { id, intentId } = await refundedThenFailed();
    const [a, b] = await Promise.all([refund(id), refund(id)]);
    await settle();
    const ok = [a, b].filter((r) => !r.errors);
    const refused = [a, b].filter((r) => r.errors);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(['BAD_USER_INPUT', 'CONFLICT']).toContain(refused[0].errors![0].extensions?.code);
    expect(stripeRefunds(intentId).filter((r) => r.status === 'succeeded').map((r) => r.amount)).toEqual([2500]);
    expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
  });
});
