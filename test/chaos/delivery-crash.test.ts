import { Pool } from 'pg';
import { startFakeStripe, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually } from '../support/harness';
import { buildRecoup, killRecoup as kill, processClient as client, startRecoupProcess, type RecoupProcess as Child } from '../support/recoup-process';

/**
 * Recoup as a real process, killed with SIGKILL while deliveries hang in Telegram, then started
 * again on the same database: every paid payment must end DELIVERED with exactly one message.
 */
const JWT_SECRET = 'chaos-secret-that-is-at-least-32-characters';
const WEBHOOK_SECRET = 'whsec_chaos_recoup';
const BOT_TOKEN = '424242:chaos-bot-token';
const PAYMENTS = 40;
const FIRST_CHAT = 960000000;

describe('delivery survives SIGKILL', () => {
  const children: Child[] = [];
  let db: TestDatabase;
  let stripe: FakeStripe;
  let telegram: FakeTelegram;
  let pool: Pool;

  async function startRecoup(): Promise<Child> {
    const child = await startRecoupProcess({
      DATABASE_URL: db.url,
      STRIPE_SECRET_KEY: 'sk_test_chaos',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: stripe.url,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_URL: telegram.url,
      TELEGRAM_TIMEOUT_MS: '1000',
      AUTH_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: 'warn',
      DELIVERY_GRACE_MS: '500',
      DELIVERY_LEASE_MS: '3000',
      DELIVERY_BACKOFF_BASE_MS: '500',
      DELIVERY_MAX_ATTEMPTS: '50',
      JOBS_PROCESS_EVERY: '1 second',
      DELIVERY_SWEEP_EVERY: '2 seconds',
    });
    children.push(child);
    stripe.setWebhookUrl(`${child.url}/webhooks/stripe`);
    return child;
  }

  const deliveryStates = async () =>
    (await pool.query<{ state: string; n: number }>(`select coalesce(d.status, 'none') || case when d.attempts > 0 then ' (retried)' else '' end as state, count(*)::int as n from payments p left join deliveries d on d.payment_id = p.id where p.status = 'SUCCEEDED' group by 1 order by 1`)).rows;

  beforeAll(async () => {
    await buildRecoup();
    db = await createTestDatabase();
    stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET });
    telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
    pool = new Pool({ connectionString: db.url, max: 2 });
  }, 150_000);

  afterAll(async () => {
    for (const child of children) await kill(child);
    await pool?.end();
    await telegram?.close();
    await stripe?.close();
    await db?.drop();
  });

  it(`delivers each of ${PAYMENTS} payments exactly once across a SIGKILL mid-delivery`, async () => {
    const first = await startRecoup();
    const api = await client(first, JWT_SECRET);
    const { planId } = await seedCatalog(api);
    telegram.failAll('sendMessage', { hang: true });

    for (let i = 0; i < PAYMENTS; i++) {
      const customer = must(await api.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: `Chaos ${i}`, telegramUserId: String(FIRST_CHAT + i) } }));
      const payment = await createPayment(api, customer.createCustomer.id, planId);
      await stripe.completeCheckout(payment.stripeCheckoutSessionId);
    }
    await eventually(async () => (await pool.query(`select 1 from payments where status = 'SUCCEEDED'`)).rowCount === PAYMENTS, 20_000, 100);
    // Let some attempts time out and back off, so the kill finds every kind of owed row.
    await eventually(async () => (await pool.query(`select 1 from deliveries where attempts > 0`)).rowCount, 10_000, 100);
    await kill(first);
    const atKill = await deliveryStates();
    const hungCalls = telegram.callsTo('sendMessage').length;

    telegram.clearFaults();
    const restartedAt = Date.now();
    await startRecoup();
    await eventually(async () => (await pool.query(`select 1 from deliveries where status = 'DELIVERED'`)).rowCount === PAYMENTS, 60_000, 100).catch(async (error: Error) => {
      throw new Error(`${error.message}; deliveries now: ${JSON.stringify(await deliveryStates())}`);
    });
    const recoveredInMs = Date.now() - restartedAt;

    const perPayment = Array.from({ length: PAYMENTS }, (_, i) => telegram.messagesTo(FIRST_CHAT + i).length);
    const duplicates = perPayment.filter((n) => n > 1).length;
    console.log(
      `chaos: ${PAYMENTS} paid; at SIGKILL ${atKill.map((s) => `${s.state}: ${s.n}`).join(', ')}; ${hungCalls} sendMessage calls hung; ` +
        `all DELIVERED ${recoveredInMs} ms after restart; messages per payment: ${perPayment.filter((n) => n === 1).length}×1, ` +
        `${duplicates} duplicated (kill between send and record), ${perPayment.filter((n) => n === 0).length} missing; ` +
        `${telegram.callsTo('sendMessage').length} sendMessage calls in all`,
    );
    expect(perPayment.filter((n) => n === 0)).toEqual([]);
    // The fake hangs before answering, so no message was ever sent and then lost to the kill.
    expect(duplicates).toBe(0);
  }, 120_000);
});
