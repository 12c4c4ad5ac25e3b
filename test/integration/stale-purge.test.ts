import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import { queueRetry, seedFailedPayments } from '../support/retry-fixtures';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * The retention purge (access:retention, FAILED_PAYMENT_RETENTION_DAYS = 30): payments that never
 * took money (FAILED, EXPIRED, CANCELLED, never paid) older than 30 days are deleted; anything
 * that took money, is still open, is younger, or is referenced by money history is kept.
 */
describe('purge of never-paid payments after 30 days', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
  /** Makes a payment `days` old by the app's clock. */
  const age = (ids: string[], days: number) => sql(`update payments set created_at = ? where id = any(?::uuid[])`, [new Date(clock.now().getTime() - days * DAY), `{${ids.join(',')}}`]);
  const exists = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { id } }`, { id })).payment !== null;
  const purge = () => h.app.services.retention.run();

  /** One customer per payment (one open payment per customer and bundle). */
  async function checkout(planId: string, name: string) {
    const customer = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name, telegramUserId: String(700000000 + Math.floor(Math.random() * 1e8)) } }));
    return createPayment(h, customer.createCustomer.id, planId);
  }

  it('deletes never-paid FAILED, EXPIRED and CANCELLED payments older than 30 days, and keeps everything else', async () => {
    const { planId } = await seedCatalog(h);

    // Never paid: expired by the cleanup, cancelled, declined.
    const expired = await checkout(planId, 'Expired');
    clock.advance(31 * MINUTE);
    must(await h.gql(`mutation { forceCleanup { expired } }`, {}, { token: h.tokens.operator }));
    expect(await paymentStatus(h, expired.id)).toBe('EXPIRED');
    const cancelled = await checkout(planId, 'Cancelled');
    must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: cancelled.id }, { token: h.tokens.operator }));
    const declined = await checkout(planId, 'Declined');
    const { paymentIntent } = await h.stripe.createPaymentIntentDirect({ amount: 2500, currency: 'usd', metadata: { paymentId: declined.id }, status: 'requires_payment_method' }, { sendWebhooks: false });
    await h.stripe.failPaymentIntent(paymentIntent.id, { code: 'card_declined', declineCode: 'generic_decline' });
    await eventually(async () => (await paymentStatus(h, declined.id)) === 'FAILED');

    // Kept: paid, still open, an authorization released (it took money on hold once), too young.
    const paid = await checkout(planId, 'Paid');
    await h.stripe.completeCheckout(paid.stripeCheckoutSessionId);
    await eventually(async () => (await paymentStatus(h, paid.id)) === 'SUCCEEDED');
    const open = await checkout(planId, 'Open');
    const released = await checkout(planId, 'Released');
    await sql(`update payments set status = 'CANCELLED', authorized_at = ?, paid_at = ?, cancelled_at = ? where id = ?`, [clock.now(), clock.now(), clock.now(), released.id]);
    const young = await checkout(planId, 'Young');
    must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: young.id }, { token: h.tokens.operator }));

    await age([expired.id, cancelled.id, declined.id, paid.id, open.id, released.id], 31);
    await age([young.id], 29);
    await h.app.services.dispatcher.whenIdle();

    expect((await purge()).paymentsPurged).toBe(3);

    for (const gone of [expired, cancelled, declined]) expect(await exists(gone.id)).toBe(false);
    for (const kept of [paid, open, released, young]) expect(await exists(kept.id)).toBe(true);
    // What they were is still on record: their audit trail stays.
    const trail = must(await h.gql(`query($id: ID!) { auditTrail(subject: $id) { totalCount } }`, { id: cancelled.id })).auditTrail;
    expect(trail.totalCount).toBeGreaterThan(0);
    // Done: a second run finds nothing more.
    expect((await purge()).paymentsPurged).toBe(0);

    // The young one reaches 30 days later on.
    clock.advance(2 * DAY);
    expect((await purge()).paymentsPurged).toBe(1);
    expect(await exists(young.id)).toBe(false);
  });

  it('keeps a never-paid payment whose retry history references it (a cancelled retry job)', async () => {
    const [payment] = await seedFailedPayments(h, [2500]);
    expect((await queueRetry(h, payment.paymentId, { code: 'processing_error' })).outcome).toBe('QUEUED');
    must(await h.gql(`mutation($p: ID!) { cancelRetry(paymentId: $p) { status payment { status } } }`, { p: payment.paymentId }, { token: h.tokens.operator }));
    await age([payment.paymentId], 40);

    expect((await purge()).paymentsPurged).toBe(0);
    expect(await exists(payment.paymentId)).toBe(true);
    expect((await sql(`select status from retry_jobs where payment_id = ?`, [payment.paymentId])).map((r) => r.status)).toEqual(['CANCELLED']);
  });

  it('is not held up by more kept payments than one batch: the abandoned checkout behind them is purged', async () => {
    // 1,000 (one purge batch) cancelled off-session payments with their retry jobs, all 40 days old.
    const kept = await seedFailedPayments(h, Array.from({ length: 1000 }, () => 1500));
    const ids = kept.map((p) => p.paymentId);
    await sql(
      `insert into retry_jobs (id, payment_id, customer_id, origin, status, amount_minor, currency, priority, attempts, max_attempts, outcome, finished_at, created_at, updated_at)
       select gen_random_uuid(), p.id, p.customer_id, 'QUEUED', 'CANCELLED', p.amount_minor, p.currency, p.amount_minor, 0, 1, 'cancelled', now(), now(), now()
         from payments p where p.id = any(?::uuid[])`,
      [`{${ids.join(',')}}`],
    );
    await sql(`update payments set status = 'CANCELLED', cancelled_at = now() where id = any(?::uuid[])`, [`{${ids.join(',')}}`]);
    await age(ids, 40);
    const { planId } = await seedCatalog(h);
    const abandoned = await checkout(planId, 'Abandoned');
    must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: abandoned.id }, { token: h.tokens.operator }));
    await age([abandoned.id], 35);

    expect((await purge()).paymentsPurged).toBe(1);
    expect(await exists(abandoned.id)).toBe(false);
    expect((await sql<{ n: number }>(`select count(*)::int as n from payments where id = any(?::uuid[])`, [`{${ids.join(',')}}`]))[0].n).toBe(1000);
  });
});
