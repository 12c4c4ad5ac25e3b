import { Pool, type PoolClient } from 'pg';
import { startFakeStripe, type FakeEvent, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually } from '../support/harness';
import { buildRecoup, killRecoup, processClient, startRecoupProcess, type RecoupProcess } from '../support/recoup-process';

/**
 * SIGTERM to a real Recoup process while a GraphQL mutation waits on a row lock and an acknowledged
 * Stripe event waits to be applied: /readyz answers 503 at once, the mutation gets its normal answer,
 * the process exits 0, and the stored event is applied (before exit or after a restart), once.
 */
const JWT_SECRET = 'drain-secret-that-is-at-least-32-characters';
const WEBHOOK_SECRET = 'whsec_drain_recoup';
const BOT_TOKEN = '565656:drain-bot-token';

describe('SIGTERM drains', () => {
  const children: RecoupProcess[] = [];
  let db: TestDatabase;
  let stripe: FakeStripe;
  let telegram: FakeTelegram;
  let pool: Pool;
  let holder: PoolClient | undefined;

  async function startRecoup(): Promise<RecoupProcess> {
    // As deployed: in production Apollo's own signal handling would be on (NODE_ENV=test turns it off).
    const child = await startRecoupProcess({
      NODE_ENV: 'production',
      STRIPE_ALLOW_TEST_KEYS: 'true',
      TELEGRAM_WEBHOOK_SECRET: 'drain-telegram-webhook-secret',
      DATABASE_URL: db.url,
      STRIPE_SECRET_KEY: 'sk_test_drain',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: stripe.url,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_URL: telegram.url,
      AUTH_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: 'warn',
      INBOX_LEASE_MS: '2000',
      JOBS_PROCESS_EVERY: '1 second',
      GATEWAY_EVENT_RETRY_EVERY: '1 second',
    });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    await buildRecoup();
    db = await createTestDatabase();
    stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET });
    telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
    pool = new Pool({ connectionString: db.url, max: 3 });
  }, 150_000);

  afterAll(async () => {
    await holder?.query('rollback').catch(() => undefined);
    holder?.release();
    for (const child of children) await killRecoup(child);
    await pool?.end();
    await telegram?.close();
    await stripe?.close();
    await db?.drop();
  }, 60_000);

  it('answers 503 on /readyz, finishes the in-flight request, exits 0 and loses no acknowledged event', async () => {
    const first = await startRecoup();
    const api = await processClient(first, JWT_SECRET);
    const { planId } = await seedCatalog(api);
    const customer = must(await api.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'Drain', telegramUserId: '971000001' } }));
    const customerId = customer.createCustomer.id as string;
    const payment = await createPayment(api, customerId, planId);
    const paid = await stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    const event: FakeEvent = paid.events.find((e) => e.type === 'payment_intent.succeeded')!;

    // An operator's transaction holds the customer and the payment: the mutation and the apply wait.
    holder = await pool.connect();
    await holder.query('begin');
    await holder.query(`select id from customers for update`);
    await holder.query(`select id from payments for update`);
    const body = JSON.stringify(event);
    const stored = await fetch(`${first.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.signPayload(body) }, body });
    expect(await stored.json()).toMatchObject({ status: 'stored' });
    const update = api.gql(`mutation($id: ID!, $i: CustomerInput!) { updateCustomer(id: $id, input: $i) { id name } }`, { id: customerId, i: { name: 'Drain renamed', telegramUserId: '971000001' } });
    await new Promise((resolve) => setTimeout(resolve, 500));

    const exited = new Promise<number | null>((resolve) => first.process.once('exit', (code) => resolve(code)));
    first.process.kill('SIGTERM');
    await eventually(async () => (await fetch(`${first.url}/readyz`)).status === 503, 5000, 20);
    const readyz = await fetch(`${first.url}/readyz`);
    expect({ status: readyz.status, body: await readyz.json() }).toEqual({ status: 503, body: { status: 'draining' } });
    expect(first.process.exitCode).toBeNull(); // still draining: the mutation waits

    await holder.query('rollback');
    holder.release();
    holder = undefined;
    expect(must(await update)).toEqual({ updateCustomer: { id: customerId, name: 'Drain renamed' } });
    expect(await exited).toBe(0);

    const applied = async () => (await pool.query<{ n: number }>(`select count(*)::int as n from gateway_events where processed_at is not null`)).rows[0].n;
    const appliedBeforeExit = await applied();
    if (appliedBeforeExit === 0) {
      await startRecoup();
      await eventually(async () => (await applied()) === 1, 30_000, 100);
    }
    const successes = await pool.query<{ n: number }>(`select count(*)::int as n from audit_entries where action = 'payment.transition' and after->>'status' = 'SUCCEEDED'`);
    expect(successes.rows[0].n).toBe(1);
    expect((await pool.query(`select status from payments`)).rows).toEqual([{ status: 'SUCCEEDED' }]);
    console.log(`drain: SIGTERM with a mutation held by a row lock; /readyz 503 while draining, mutation answered, exit 0; the stored event was applied ${appliedBeforeExit ? 'before exit' : 'after a restart'}`);
  }, 150_000);
});
