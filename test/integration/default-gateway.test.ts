import { eventually, startHarness, type Harness } from '../support/harness';
import { must } from '../support/fixtures';

/**
 * DEFAULT_GATEWAY=CASHFREE: an installation that sells through Cashfree. A plan created without a
 * gateway is a Cashfree plan and is paid and delivered through it; a plan that names STRIPE keeps it.
 */
describe('DEFAULT_GATEWAY: the installation names the gateway of plans that do not', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ cashfree: true, env: { DEFAULT_GATEWAY: 'CASHFREE' } });
  });
  afterAll(async () => h?.close());

  it('a plan created without a gateway goes through Cashfree, end to end; one naming STRIPE stays on Stripe; the audit entry records the gateway', async () => {
    const channel = must(await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: '-1004400440044', title: 'Signals' } })).createChannel.id;
    const bundleId = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Pro', channelIds: [channel] } })).createBundle.id;
    const createPlan = `mutation($i: PlanInput!) { createPlan(input: $i) { id gateway } }`;
    const plan = must(await h.gql(createPlan, { i: { bundleId, name: 'Monthly', amountMinor: 49900, currency: 'inr', durationDays: 30 } })).createPlan;
    expect(plan.gateway).toBe('CASHFREE');
    const stripePlan = must(await h.gql(createPlan, { i: { bundleId, name: 'Monthly (card)', amountMinor: 2500, currency: 'usd', durationDays: 30, gateway: 'STRIPE' } })).createPlan;
    expect(stripePlan.gateway).toBe('STRIPE');
    const trail = must(await h.gql(`query($s: ID!) { auditTrail(subject: $s, subjectType: "plan") { edges { node { action after } } } }`, { s: plan.id })).auditTrail.edges;
    expect(trail[0].node).toMatchObject({ action: 'plan.create', after: { gateway: 'CASHFREE' } });

    const customerId = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'Dana Buyer', phone: '+919876543210', telegramUserId: '700100201' } })).createCustomer.id;
    const created = must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome payment { id gateway gatewayOrderId } } }`, { i: { customerId, planId: plan.id } }, { token: h.tokens.operator })).createPayment;
    expect(created).toMatchObject({ outcome: 'CREATED', payment: { gateway: 'CASHFREE', gatewayOrderId: created.payment.id } });
    expect(h.cashfree!.engine.orders.get(created.payment.id)).toMatchObject({ amountMinor: 49900, currency: 'INR' });
    await h.cashfree!.pay(created.payment.id, 'success');
    const delivered = await eventually(async () => {
      const p = must(await h.gql(`query($id: ID!) { payment(id: $id) { status deliveryStatus } }`, { id: created.payment.id })).payment;
      return p.deliveryStatus === 'DELIVERED' ? p : null;
    });
    expect(delivered.status).toBe('SUCCEEDED');
    expect(h.stripe.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});
