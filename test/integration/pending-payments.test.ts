import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const MINUTE = 60_000;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const CHECKOUT = `outcome message payment { id status checkoutUrl }
  conflict { ageMinutes minutesRemaining stale payment { id status amountMinor planId checkoutUrl } actions { type url paymentId } }
  warnings { payment { id bundleId } }`;
const CREATE = `mutation($i: CreatePaymentInput!) { createPayment(input: $i) { ${CHECKOUT} } }`;
const CAN_PROCEED = `query($b: ID!, $p: ID!, $c: ID) { canProceed(bundleId: $b, planId: $p, customerId: $c) { canProceed recommendation conflict { stale payment { id } } } }`;
const PENDING = `query($f: PendingPaymentsFilter, $first: Int, $after: String) { pendingPayments(filter: $f, first: $first, after: $after) {
  totalCount summary { total active stale } pageInfo { hasNextPage endCursor } edges { node { stale payment { id } } } } }`;

describe('pending payments: checkout rules', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const checkout = async (i: Record<string, unknown>) => h.gql(CREATE, { i }, { token: h.tokens.operator });
  const checkoutData = async (i: Record<string, unknown>) => must(await checkout(i)).createPayment;
  const codeOf = (result: { errors?: Array<{ extensions?: Record<string, any> }> }) => result.errors?.[0]?.extensions?.code;
  const sql = (query: string, params: unknown[] = []) => h.app.services.db.fork().execute(query, params);
  const paymentCount = async () => (await sql(`select count(*)::int as n from payments`))[0].n as number;
  const expireKeys = (sessionId: string) =>
    h.stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${sessionId}/expire`).map((r) => r.idempotencyKey);
  const sessionStatus = (sessionId: string) => h.stripe.store.sessions.find(sessionId)?.status;

  async function addBundle(channelId: string) {
    const bundle = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Second bundle', channelIds: [channelId] } }));
    const plan = must(await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, {
      i: { bundleId: bundle.createBundle.id, name: 'Second monthly', amountMinor: 900, currency: 'usd', durationDays: 30 },
    }));
    return { bundleId: bundle.createBundle.id as string, planId: plan.createPlan.id as string };
  }

  async function addCustomer(phone: string) {
    const result = await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: `Buyer ${phone}`, phone } });
    return must(result).createCustomer.id as string;
  }

  it('expires a stale payment, and its Checkout Session, then creates the new one', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const old = await createPayment(h, customerId, planId);
    clock.advance(31 * MINUTE);

    const result = await checkoutData({ customerId, planId });

    expect(result).toMatchObject({ outcome: 'CREATED', payment: { status: 'PENDING' }, conflict: null, warnings: [] });
    expect(result.payment.id).not.toBe(old.id);
    expect(await paymentStatus(h, old.id)).toBe('EXPIRED');
    expect(expireKeys(old.stripeCheckoutSessionId)).toEqual([`expire:${old.id}`]);
    expect(sessionStatus(old.stripeCheckoutSessionId)).toBe('expired');
  });

  it('answers PENDING_SAME_BUNDLE for a fresh open payment, with its age, time left and the ways forward', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const first = await createPayment(h, customerId, planId);
    clock.advance(10 * MINUTE);

    const result = await checkoutData({ customerId, planId });

    expect(result).toMatchObject({
      outcome: 'PENDING_SAME_BUNDLE',
      payment: null,
      conflict: { ageMinutes: 10, minutesRemaining: 20, stale: false, payment: { id: first.id, status: 'PENDING', amountMinor: 2500, planId } },
    });
    expect(result.conflict.actions).toEqual([
      { type: 'COMPLETE', url: first.checkoutUrl, paymentId: first.id },
      { type: 'CANCEL', url: null, paymentId: first.id },
      { type: 'CANCEL_AND_START_NEW', url: null, paymentId: first.id },
    ]);
    expect(await paymentCount()).toBe(1);
  });

  it('COMPLETE: paying at the conflict’s checkout URL settles the first payment', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const first = await createPayment(h, customerId, planId);
    const { conflict } = await checkoutData({ customerId, planId });
    const url = conflict.actions.find((a: { type: string }) => a.type === 'COMPLETE').url as string;

    const page = await fetch(url, { method: 'POST', redirect: 'manual' });

    expect(page.status).toBe(303);
    expect(await paymentStatus(h, first.id)).toBe('SUCCEEDED');
  });

  it('CANCEL_AND_START_NEW: cancels the first payment and its session, then creates the new one', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const first = await createPayment(h, customerId, planId);

    const result = await checkoutData({ customerId, planId, replacePaymentId: first.id });

    expect(result).toMatchObject({ outcome: 'CREATED', payment: { status: 'PENDING' } });
    expect(result.payment.id).not.toBe(first.id);
    expect(await paymentStatus(h, first.id)).toBe('CANCELLED');
    expect(expireKeys(first.stripeCheckoutSessionId)).toEqual([`expire:${first.id}`]);
    expect(sessionStatus(first.stripeCheckoutSessionId)).toBe('expired');
  });

  it('regression: cancel-and-start-new does not open a second checkout when the first was paid meanwhile', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const first = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(first.stripeCheckoutSessionId, { sendWebhooks: false });

    const result = await checkoutData({ customerId, planId, replacePaymentId: first.id });

    expect(result).toMatchObject({ outcome: 'ALREADY_PAID', payment: { id: first.id, status: 'SUCCEEDED' } });
    expect(await paymentCount()).toBe(1);
    expect(h.stripe.countRequests('POST', '/v1/checkout/sessions')).toBe(2); // the first create, then only its /expire
  });

  it('answers ALREADY_PAID when the stale payment to expire turns out paid', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const first = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(first.stripeCheckoutSessionId, { sendWebhooks: false });
    clock.advance(31 * MINUTE);

    expect(await checkoutData({ customerId, planId })).toMatchObject({ outcome: 'ALREADY_PAID', payment: { id: first.id, status: 'SUCCEEDED' } });
    expect(await paymentCount()).toBe(1);
  });

  it('lets an open payment for another bundle through, with a warning that lists it', async () => {
    const { customerId, channelId, bundleId, planId } = await seedCatalog(h);
    const other = await addBundle(channelId);
    const first = await createPayment(h, customerId, planId);

    const result = await checkoutData({ customerId, planId: other.planId });

    expect(result).toMatchObject({ outcome: 'CREATED', payment: { status: 'PENDING' }, warnings: [{ payment: { id: first.id, bundleId } }] });
    expect(result.message).toContain('1 open payment(s) for other bundles');
    expect(await paymentStatus(h, first.id)).toBe('PENDING');
  });

  it('creates exactly one pending payment from 20 concurrent checkouts for one customer and bundle', async () => {
    const { customerId, bundleId, planId } = await seedCatalog(h);

    const results = await Promise.all(Array.from({ length: 20 }, () => checkout({ customerId, planId })));

    const outcomes = results.map((r) => must(r).createPayment.outcome as string);
    expect(outcomes.filter((o) => o === 'CREATED')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'PENDING_SAME_BUNDLE')).toHaveLength(19);
    const rows = await sql(`select status, count(*)::int as n from payments where customer_id = ? and bundle_id = ? group by status`, [customerId, bundleId]);
    expect(rows).toEqual([{ status: 'PENDING', n: 1 }]);
    expect(h.stripe.countRequests('POST', '/v1/checkout/sessions')).toBe(1);
  });

  it('canProceed recommends PROCEED, COMPLETE_OR_CANCEL_PENDING, then PROCEED_AFTER_EXPIRING_STALE', async () => {
    const { customerId, bundleId, planId } = await seedCatalog(h);
    const ask = async () => must(await h.gql(CAN_PROCEED, { b: bundleId, p: planId, c: customerId }, { token: h.tokens.viewer })).canProceed;

    expect(await ask()).toMatchObject({ canProceed: true, recommendation: 'PROCEED', conflict: null });
    const first = await createPayment(h, customerId, planId);
    expect(await ask()).toMatchObject({ canProceed: false, recommendation: 'COMPLETE_OR_CANCEL_PENDING', conflict: { stale: false, payment: { id: first.id } } });
    clock.advance(31 * MINUTE);
    expect(await ask()).toMatchObject({ canProceed: true, recommendation: 'PROCEED_AFTER_EXPIRING_STALE', conflict: { stale: true, payment: { id: first.id } } });
  });

  it('canProceed answers coded errors for a plan outside the bundle and for unknown or malformed ids', async () => {
    const { customerId, channelId, bundleId, planId } = await seedCatalog(h);
    const other = await addBundle(channelId);
    const ask = (b: string, p: string, c: string) => h.gql(CAN_PROCEED, { b, p, c }, { token: h.tokens.viewer });

    expect(codeOf(await ask(bundleId, other.planId, customerId))).toBe('BAD_USER_INPUT');
    expect(codeOf(await ask(bundleId, UNKNOWN, customerId))).toBe('NOT_FOUND');
    expect(codeOf(await ask(UNKNOWN, planId, customerId))).toBe('BAD_USER_INPUT'); // the plan is not of that bundle
    expect(codeOf(await ask(bundleId, planId, UNKNOWN))).toBe('NOT_FOUND');
    expect(codeOf(await ask(bundleId, 'nope', customerId))).toBe('NOT_FOUND');
    expect(codeOf(await ask(bundleId, planId, 'nope'))).toBe('NOT_FOUND');
    expect(codeOf(await ask('nope', planId, customerId))).toBe('BAD_USER_INPUT');
  });

  it('createPayment and cancelPayment answer coded errors for bad input and create nothing', async () => {
    const { customerId, channelId, planId } = await seedCatalog(h);
    const other = await addBundle(channelId);
    const elsewhere = await createPayment(h, customerId, other.planId);

    expect(codeOf(await checkout({ customerId: UNKNOWN, planId }))).toBe('NOT_FOUND');
    expect(codeOf(await checkout({ customerId, planId, replacePaymentId: UNKNOWN }))).toBe('NOT_FOUND');
    expect(codeOf(await checkout({ customerId, planId, replacePaymentId: 'nope' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await checkout({ customerId, planId, replacePaymentId: elsewhere.id }))).toBe('BAD_USER_INPUT');
    const cancel = (id: string) => h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { id } }`, { id }, { token: h.tokens.operator });
    expect(codeOf(await cancel(UNKNOWN))).toBe('NOT_FOUND');
    expect(codeOf(await cancel('nope'))).toBe('NOT_FOUND');
    expect(codeOf(await h.gql(PENDING, { f: { customerId: 'nope' } }))).toBe('BAD_USER_INPUT');
    expect(await paymentCount()).toBe(1);
    expect(await paymentStatus(h, elsewhere.id)).toBe('PENDING');
  });

  it('regression: cancelling a payment that the cleanup expires meanwhile answers CONFLICT with its status, not INVALID_TRANSITION', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    // Stripe is slow to expire the session: the cleanup job expires the payment in the meantime.
    h.stripe.failNext({ method: 'POST', path: `/v1/checkout/sessions/${payment.stripeCheckoutSessionId}/expire` }, { delayMs: 500 });
    const cancelling = h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: payment.id }, { token: h.tokens.operator });
    await eventually(async () => expireKeys(payment.stripeCheckoutSessionId).length > 0);
    await h.app.services.db.transaction((tx) => h.app.services.transitions.transition(tx, { id: 'system:cleanup' }, payment.id, 'EXPIRED' as never, { reason: 'stale' }));

    const result = await cancelling;
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', status: 'EXPIRED' } });
    expect(await paymentStatus(h, payment.id)).toBe('EXPIRED');
  });

  it('lists pending payments for operators with filters, a summary and pagination', async () => {
    const { customerId: dana, channelId, bundleId, planId } = await seedCatalog(h);
    const eve = await addCustomer('+14155550199');
    const other = await addBundle(channelId);
    const danaOld = await createPayment(h, dana, planId);
    const eveOld = await createPayment(h, eve, planId);
    clock.advance(31 * MINUTE);
    const danaNew = await createPayment(h, dana, other.planId);
    const list = async (f: Record<string, unknown> | null, first = 20, after?: string) =>
      must(await h.gql(PENDING, { f, first, after }, { token: h.tokens.viewer })).pendingPayments;
    const ids = (page: { edges: Array<{ node: { payment: { id: string } } }> }) => page.edges.map((e) => e.node.payment.id).sort();

    const all = await list(null);
    expect(all).toMatchObject({ totalCount: 3, summary: { total: 3, active: 1, stale: 2 } });
    expect(ids(await list({ customerId: dana }))).toEqual([danaOld.id, danaNew.id].sort());
    expect((await list({ customerId: dana })).summary).toEqual({ total: 2, active: 1, stale: 1 });
    expect(ids(await list({ phone: '+14155550199' }))).toEqual([eveOld.id]);
    expect(ids(await list({ phone: '+14155550199', customerId: dana }))).toEqual([]);
    expect(ids(await list({ bundleId: other.bundleId }))).toEqual([danaNew.id]);
    expect(ids(await list({ bundleId }))).toEqual([danaOld.id, eveOld.id].sort());
    const stale = await list({ staleOnly: true });
    expect(ids(stale)).toEqual([danaOld.id, eveOld.id].sort());
    expect(stale).toMatchObject({ totalCount: 2, summary: { total: 3, active: 1, stale: 2 } });
    expect(stale.edges.every((e: { node: { stale: boolean } }) => e.node.stale)).toBe(true);

    const page1 = await list(null, 2);
    const page2 = await list(null, 2, page1.pageInfo.endCursor);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect([...ids(page1), ...ids(page2)].sort()).toEqual(ids(all));
  });
});
