import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { signToken, startHarness, type GqlResult, type Harness } from '../support/harness';

const MINUTE = 60_000;
const CREATE = `mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome payment { id customerId status } conflict { payment { id } } } }`;
const CANCEL = `mutation($id: ID!) { cancelPayment(paymentId: $id) { id status cancelledAt } }`;
const CAN_PROCEED = `query($b: ID!, $p: ID!, $c: ID) { canProceed(bundleId: $b, planId: $p, customerId: $c) { canProceed recommendation conflict { payment { id } } } }`;
const PENDING = `query($f: PendingPaymentsFilter) { pendingPayments(filter: $f) {
  summary { total active stale } edges { node { ageMinutes minutesRemaining payment { id customerId } actions { type } } } } }`;
const CLEANUP_MINE = `mutation($c: ID) { cleanupStalePayments(customerId: $c) { expired foundPaid errors } }`;

/**
 * Customer tokens (role CUSTOMER, sub = customer id): a customer sees and acts only on their own
 * payments, and learns nothing about anyone else's; operators act on anyone's.
 */
describe('pending payments: customer-facing access', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const codeOf = (result: GqlResult) => result.errors?.[0]?.extensions?.code as string | undefined;
  const expireRequests = (sessionId: string) =>
    h.stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${sessionId}/expire`);

  /** Dana (seeded) and Eve, each with a customer token, and one pending payment each for the same bundle. */
  async function twoCustomers() {
    const { customerId: dana, bundleId, planId } = await seedCatalog(h);
    const created = await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'Eve Other', phone: '+14155550199' } });
    const eve = must(created).createCustomer.id as string;
    return {
      bundleId,
      planId,
      dana: { id: dana, token: await signToken(dana, 'CUSTOMER'), payment: await createPayment(h, dana, planId) },
      eve: { id: eve, token: await signToken(eve, 'CUSTOMER'), payment: await createPayment(h, eve, planId) },
    };
  }

  it('a customer token checks out for itself, and may not name another customer', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const token = await signToken(customerId, 'CUSTOMER');

    const own = must(await h.gql(CREATE, { i: { planId } }, { token })).createPayment;
    expect(own).toMatchObject({ outcome: 'CREATED', payment: { customerId, status: 'PENDING' } });
    const again = must(await h.gql(CREATE, { i: { planId } }, { token })).createPayment;
    expect(again).toMatchObject({ outcome: 'PENDING_SAME_BUNDLE', conflict: { payment: { id: own.payment.id } } });

    const someoneElse = await h.gql(CREATE, { i: { planId, customerId: '00000000-0000-4000-8000-000000000000' } }, { token });
    expect(codeOf(someoneElse)).toBe('FORBIDDEN');
  });

  it('cancels for the owner, and expires the Checkout Session at Stripe', async () => {
    const { dana } = await twoCustomers();

    const cancelled = must(await h.gql(CANCEL, { id: dana.payment.id }, { token: dana.token })).cancelPayment;

    expect(cancelled).toMatchObject({ id: dana.payment.id, status: 'CANCELLED' });
    expect(cancelled.cancelledAt).toBe(clock.now().toISOString());
    expect(expireRequests(dana.payment.stripeCheckoutSessionId).map((r) => r.idempotencyKey)).toEqual([`expire:${dana.payment.id}`]);
    expect(h.stripe.store.sessions.find(dana.payment.stripeCheckoutSessionId)?.status).toBe('expired');
  });

  it("answers NOT_FOUND to another customer's token, so it does not learn the payment exists", async () => {
    const { dana, eve } = await twoCustomers();

    const refused = await h.gql(CANCEL, { id: dana.payment.id }, { token: eve.token });
    const unknown = await h.gql(CANCEL, { id: '00000000-0000-4000-8000-000000000000' }, { token: eve.token });

    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    expect(refused.errors?.[0].message).toBe(`Payment ${dana.payment.id} was not found`);
    expect(codeOf(unknown)).toBe('NOT_FOUND');
    expect(await paymentStatus(h, dana.payment.id)).toBe('PENDING');
    expect(expireRequests(dana.payment.stripeCheckoutSessionId)).toHaveLength(0);
  });

  it("lets an operator cancel anyone's payment, but not a viewer", async () => {
    const { dana, eve } = await twoCustomers();

    expect(codeOf(await h.gql(CANCEL, { id: dana.payment.id }, { token: h.tokens.viewer }))).toBe('FORBIDDEN');
    expect(await paymentStatus(h, dana.payment.id)).toBe('PENDING');
    expect(must(await h.gql(CANCEL, { id: dana.payment.id }, { token: h.tokens.operator })).cancelPayment.status).toBe('CANCELLED');
    expect(must(await h.gql(CANCEL, { id: eve.payment.id }, { token: h.tokens.admin })).cancelPayment.status).toBe('CANCELLED');
  });

  it('refuses to cancel a payment that already succeeded (CONFLICT)', async () => {
    const { dana } = await twoCustomers();
    await h.stripe.completeCheckout(dana.payment.stripeCheckoutSessionId);
    expect(await paymentStatus(h, dana.payment.id)).toBe('SUCCEEDED');

    for (const token of [dana.token, h.tokens.operator]) {
      const result = await h.gql(CANCEL, { id: dana.payment.id }, { token });
      expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', status: 'SUCCEEDED' } });
    }
    expect(await paymentStatus(h, dana.payment.id)).toBe('SUCCEEDED');
  });

  it('canProceed answers for the token’s own customer, and refuses another customerId', async () => {
    const { dana, eve, bundleId, planId } = await twoCustomers();

    const own = must(await h.gql(CAN_PROCEED, { b: bundleId, p: planId }, { token: dana.token })).canProceed;
    expect(own).toEqual({ canProceed: false, recommendation: 'COMPLETE_OR_CANCEL_PENDING', conflict: { payment: { id: dana.payment.id } } });
    expect(codeOf(await h.gql(CAN_PROCEED, { b: bundleId, p: planId, c: eve.id }, { token: dana.token }))).toBe('FORBIDDEN');
  });

  it('pendingPayments shows a customer only their own payments, with age, time left and actions', async () => {
    const { dana, eve } = await twoCustomers();
    clock.advance(5 * MINUTE);

    const own = must(await h.gql(PENDING, {}, { token: dana.token })).pendingPayments;
    expect(own.summary).toEqual({ total: 1, active: 1, stale: 0 });
    expect(own.edges).toEqual([
      { node: { ageMinutes: 5, minutesRemaining: 25, payment: { id: dana.payment.id, customerId: dana.id }, actions: [{ type: 'COMPLETE' }, { type: 'CANCEL' }, { type: 'CANCEL_AND_START_NEW' }] } },
    ]);
    // Filters cannot widen a customer's view: a phone is ignored, another customer's id is refused.
    const byPhone = must(await h.gql(PENDING, { f: { phone: '+14155550199' } }, { token: dana.token })).pendingPayments;
    expect(byPhone.edges.map((e: any) => e.node.payment.id)).toEqual([dana.payment.id]);
    expect(codeOf(await h.gql(PENDING, { f: { customerId: eve.id } }, { token: dana.token }))).toBe('FORBIDDEN');
    expect(must(await h.gql(PENDING, { f: { customerId: dana.id } }, { token: dana.token })).pendingPayments.summary.total).toBe(1);
  });

  it('never looks payments up without a token', async () => {
    await twoCustomers();
    const result = await h.gql(PENDING, { f: { phone: '+14155550100' } }, { token: null });
    expect(codeOf(result)).toBe('UNAUTHENTICATED');
    expect(result.data).toBeNull();
  });

  it("cleanupStalePayments expires only the token's own stale payments", async () => {
    const { dana, eve } = await twoCustomers();
    clock.advance(31 * MINUTE);

    expect(codeOf(await h.gql(CLEANUP_MINE, { c: eve.id }, { token: dana.token }))).toBe('FORBIDDEN');
    expect(must(await h.gql(CLEANUP_MINE, {}, { token: dana.token })).cleanupStalePayments).toEqual({ expired: 1, foundPaid: 0, errors: 0 });
    expect(await paymentStatus(h, dana.payment.id)).toBe('EXPIRED');
    expect(await paymentStatus(h, eve.payment.id)).toBe('PENDING');
    expect(must(await h.gql(CLEANUP_MINE, { c: eve.id }, { token: h.tokens.operator })).cleanupStalePayments.expired).toBe(1);
    expect(codeOf(await h.gql(CLEANUP_MINE, { c: 'nope' }, { token: h.tokens.operator }))).toBe('NOT_FOUND');
  });

  it('keeps operator-only operations from customers', async () => {
    const { dana } = await twoCustomers();
    for (const query of [`mutation { forceCleanup { expired } }`, `{ cleanupStats { runs } }`, `{ payments { totalCount } }`]) {
      expect(codeOf(await h.gql(query, {}, { token: dana.token }))).toBe('FORBIDDEN');
    }
  });
});
