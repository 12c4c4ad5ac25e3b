import { startHarness, type Harness } from '../support/harness';
import { advance, chargesByJob, jobOf, queueRetry, seedFailedPayments } from '../support/retry-fixtures';

const MIN = 60_000;
const CHARGE = { method: 'POST', path: '/v1/payment_intents' };

describe('retry queue: a worker that dies mid-charge', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: { RETRY_JITTER_PERCENT: '0', STRIPE_TIMEOUT_MS: '500', RETRY_LEASE_MS: '120000' } });
  });
  afterAll(async () => h?.close());

  it('is reclaimed when its lease runs out, and its charge re-sent with the same key: one charge', async () => {
    const [payment] = await seedFailedPayments(h, [2500]);
    const { job } = await queueRetry(h, payment.paymentId, { code: 'processing_error' });
    advance(h, MIN);
    // Stripe charges, but the answer never arrives; then put the rows back as a worker that died
    // between the call and recording the answer leaves them: PROCESSING, attempt IN_FLIGHT.
    h.stripe.failNext(CHARGE, { afterExecute: true, hang: true });
    await h.app.services.retryProcessor.run();
    const sql = h.app.services.db.fork();
    await sql.execute(`update retry_attempts set outcome = 'IN_FLIGHT', finished_at = null where job_id = ?`, [job!.id]);
    await sql.execute(`update retry_jobs set status = 'PROCESSING', lease_token = gen_random_uuid(), lease_expires_at = ? where id = ?`, [new Date(h.clock.now().getTime() + 2 * MIN), job!.id]);

    expect((await h.app.services.retryProcessor.run()).claimed).toBe(0); // the lease still holds
    advance(h, 2 * MIN);
    expect(await h.app.services.retryProcessor.run()).toMatchObject({ claimed: 1, succeeded: 1 });

    expect(chargesByJob(h).get(job!.id)!.map((c) => c.key)).toEqual([`retry:${job!.id}:1`, `retry:${job!.id}:1`]);
    expect(h.stripe.store.paymentIntents.newestFirst().filter((pi) => pi.metadata.retryJobId === job!.id)).toHaveLength(1);
    expect(await jobOf(h, payment.paymentId)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });
});
