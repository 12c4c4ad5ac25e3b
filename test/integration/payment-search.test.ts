import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/** payments(filter: {gatewayId}): any Stripe id an operator copies from Stripe's dashboard finds its payment. */
describe('find a payment by a Stripe id', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  const found = async (gatewayId: string) =>
    must(await h.gql(`query($g: String!) { payments(first: 10, filter: { gatewayId: $g }) { edges { node { id } } } }`, { g: gatewayId }, { token: h.tokens.viewer })).payments.edges.map(
      (e: { node: { id: string } }) => e.node.id,
    );

  it('by intent, session, charge, refund and dispute id; nothing for an unknown or malformed id', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const other = await createPayment(h, (await seedCatalog(h)).customerId, planId);
    const paid = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await h.gql(`query($id: ID!) { payment(id: $id) { status } }`, { id: payment.id })).data?.payment.status === 'SUCCEEDED');
    const intent = paid.paymentIntent as { id: string; latest_charge: string };
    const refund = must(await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, amountMinor: 500, reason: "goodwill") { refund { stripeRefundId } } }`, { id: payment.id }, { token: h.tokens.operator }));
    const { dispute } = await h.stripe.disputeCharge(intent.latest_charge, {}, { sendWebhooks: false });

    expect(await found(intent.id)).toEqual([payment.id]);
    expect(await found(payment.stripeCheckoutSessionId)).toEqual([payment.id]);
    expect(await found(other.stripeCheckoutSessionId)).toEqual([other.id]);
    expect(await found(intent.latest_charge)).toEqual([payment.id]); // asked of Stripe
    expect(await found(refund.refundPayment.refund.stripeRefundId)).toEqual([payment.id]);
    expect(await found((dispute as { id: string }).id)).toEqual([payment.id]); // asked of Stripe
    expect(await found(`  ${intent.id} `)).toEqual([payment.id]);
    expect(await found('ch_nobody_has_this')).toEqual([]);
    expect(await found('not a stripe id; drop table payments')).toEqual([]);
  });
});
