import { CLEANUP_JOB } from '../../src/payments/checkout-advice.service';
import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const MINUTE = 60_000;
const FORCE = `mutation { forceCleanup { runId expired foundPaid errors refundsRetried } }`;
const STATS = `{ cleanupStats { runs expiredTotal expiredLastRun lastRunAt errorsTotal lastError staleNow health } }`;
const JOB = `{ systemHealth { jobs { name schedule enabled } } }`;
const SET_ENABLED = `mutation($enabled: Boolean!) { setJobEnabled(name: "${CLEANUP_JOB}", enabled: $enabled) { name enabled } }`;

type Created = Awaited<ReturnType<typeof createPayment>>;

describe('stale payment cleanup', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: { LARGE_CLEANUP_THRESHOLD: '2', CLEANUP_BATCH_SIZE: '2', CLEANUP_CRON: '*/5 * * * *' } });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const forceCleanup = async () => must(await h.gql(FORCE, {}, { token: h.tokens.operator })).forceCleanup;
  const stats = async () => must(await h.gql(STATS, {}, { token: h.tokens.viewer })).cleanupStats;
  const expireKeys = (p: Created) =>
    h.stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/checkout/sessions/${p.stripeCheckoutSessionId}/expire`).map((r) => r.idempotencyKey);
  const alertsOf = async (type: string) =>
    must(await h.gql(`query($t: [AlertType!]) { alerts(filter: { types: $t }) { edges { node { subjectType subjectId title } } } }`, { t: [type] })).alerts.edges.map((e: any) => e.node);

  /** `count` pending payments, one customer each, a minute apart (oldest first); none is stale yet. */
  async function pendingPayments(count: number): Promise<Created[]> {
    const { planId } = await seedCatalog(h);
    const payments: Created[] = [];
    for (let i = 0; i < count; i++) {
      const customer = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: `Buyer ${i}` } }));
      payments.push(await createPayment(h, customer.createCustomer.id, planId));
      clock.advance(MINUTE);
    }
    return payments;
  }

  it('expires stale payments and their Checkout Sessions, counts them, and leaves fresh ones alone', async () => {
    const stale = await pendingPayments(3);
    clock.advance(30 * MINUTE);
    const [fresh] = await pendingPayments(1);

    const result = await forceCleanup();

    expect(result).toMatchObject({ expired: 3, foundPaid: 0, errors: 0, refundsRetried: 0 });
    for (const p of stale) {
      expect(await paymentStatus(h, p.id)).toBe('EXPIRED');
      expect(expireKeys(p)).toEqual([`expire:${p.id}`]);
      expect(h.stripe.store.sessions.find(p.stripeCheckoutSessionId)?.status).toBe('expired');
    }
    expect(await paymentStatus(h, fresh.id)).toBe('PENDING');
    expect(expireKeys(fresh)).toEqual([]);
    expect(await forceCleanup()).toMatchObject({ expired: 0, errors: 0 });
    expect(h.stripe.countRequests('POST', '/v1/checkout/sessions/')).toBe(3);
  });

  it('raises LARGE_CLEANUP when one run expires more than the threshold (2)', async () => {
    await pendingPayments(2);
    clock.advance(31 * MINUTE);
    expect((await forceCleanup()).expired).toBe(2);
    expect(await alertsOf('LARGE_CLEANUP')).toEqual([]);

    await pendingPayments(3);
    clock.advance(31 * MINUTE);
    const { runId, expired } = await forceCleanup();

    expect(expired).toBe(3);
    expect(await alertsOf('LARGE_CLEANUP')).toEqual([{ subjectType: 'cleanup_run', subjectId: runId, title: 'Cleanup expired 3 stale payments' }]);
  });

  it('reports runs, expired totals, the last run and health in cleanupStats', async () => {
    expect(await stats()).toMatchObject({ runs: 0, expiredTotal: 0, lastRunAt: null, health: 'NEVER_RUN' });
    await pendingPayments(2);
    clock.advance(31 * MINUTE);
    expect(await stats()).toMatchObject({ staleNow: 2 });

    await forceCleanup();
    expect(await stats()).toEqual({ runs: 1, expiredTotal: 2, expiredLastRun: 2, lastRunAt: clock.now().toISOString(), errorsTotal: 0, lastError: null, staleNow: 0, health: 'HEALTHY' });

    await pendingPayments(1);
    clock.advance(31 * MINUTE);
    await forceCleanup();
    expect(await stats()).toMatchObject({ runs: 2, expiredTotal: 3, expiredLastRun: 1, lastRunAt: clock.now().toISOString(), health: 'HEALTHY' });
  });

  it('works through every batch (CLEANUP_BATCH_SIZE 2) in one run', async () => {
    const payments = await pendingPayments(5);
    clock.advance(31 * MINUTE);

    expect(await forceCleanup()).toMatchObject({ expired: 5, errors: 0 });
    for (const p of payments) expect(await paymentStatus(h, p.id)).toBe('EXPIRED');
  });

  it('regression: a full batch that Stripe refuses to expire does not stop the run from expiring the rest', async () => {
    const [first, second, third] = await pendingPayments(3);
    clock.advance(31 * MINUTE);
    for (const p of [first, second]) {
      h.stripe.failNext({ method: 'POST', path: `/v1/checkout/sessions/${p.stripeCheckoutSessionId}/expire` }, { status: 500, error: { type: 'api_error', message: 'boom' } });
    }

    expect(await forceCleanup()).toMatchObject({ expired: 1, errors: 2 });

    expect(await paymentStatus(h, third.id)).toBe('EXPIRED');
    expect(await paymentStatus(h, first.id)).toBe('PENDING');
    const after = await stats();
    expect(after).toMatchObject({ errorsTotal: 2, staleNow: 2, health: 'DEGRADED' });
    expect(after.lastError).toContain('boom');
    expect(await forceCleanup()).toMatchObject({ expired: 2, errors: 0 });
  });

  it('pauses and resumes the cleanup job with setJobEnabled, visible in systemHealth and cleanupStats', async () => {
    const job = async () => must(await h.gql(JOB, {}, { token: h.tokens.viewer })).systemHealth.jobs.find((j: { name: string }) => j.name === CLEANUP_JOB);
    expect(await job()).toEqual({ name: CLEANUP_JOB, schedule: 'cron */5 * * * *', enabled: true });

    expect(must(await h.gql(SET_ENABLED, { enabled: false })).setJobEnabled).toEqual({ name: CLEANUP_JOB, enabled: false });
    expect((await job()).enabled).toBe(false);
    expect((await stats()).health).toBe('PAUSED'); // regression: it said NEVER_RUN while paused before a first run
    await forceCleanup();
    expect((await stats()).health).toBe('PAUSED');

    expect(must(await h.gql(SET_ENABLED, { enabled: true })).setJobEnabled).toEqual({ name: CLEANUP_JOB, enabled: true });
    expect((await job()).enabled).toBe(true);
    expect((await stats()).health).toBe('HEALTHY');
  });

  it('a payment paid just as it went stale ends SUCCEEDED and delivered, not expired', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    clock.advance(31 * MINUTE);

    expect(await forceCleanup()).toMatchObject({ expired: 0, foundPaid: 1, errors: 0 });

    expect(expireKeys(payment)).toEqual([`expire:${payment.id}`]); // Stripe answered: already complete
    expect(await paymentStatus(h, payment.id)).toBe('SUCCEEDED');
    const delivered = await eventually(async () => {
      const { deliveryStatus } = must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus } }`, { id: payment.id })).payment;
      return deliveryStatus === 'DELIVERED';
    });
    expect(delivered).toBe(true);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
    expect(await alertsOf('LATE_PAYMENT')).toEqual([]);
  });
});
