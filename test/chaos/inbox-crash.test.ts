import { Pool, type PoolClient } from 'pg';
import { startFakeStripe, type FakeEvent, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually } from '../support/harness';
import { buildRecoup, killRecoup as kill, processClient as client, startRecoupProcess, type RecoupProcess as Child } from '../support/recoup-process';

/**
 * Recoup as a real process acknowledges Stripe events it cannot apply yet (an operator's
 * transaction holds the payments), and is killed with SIGKILL with every one of them stored,
 * acknowledged and some claimed. Started again on the same database, it must apply each exactly
 * once: the claims of the dead process run out (INBOX_LEASE_MS), so does the lock it held on the
 * sweep job (killed mid-sweep), and the sweep takes them over.
 */
const JWT_SECRET = 'chaos-secret-that-is-at-least-32-characters';
const WEBHOOK_SECRET = 'whsec_chaos_recoup_inbox';
const BOT_TOKEN = '434343:chaos-bot-token';
const PAYMENTS = 30;

describe('the inbox survives SIGKILL', () => {
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
      AUTH_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: 'warn',
      INBOX_LEASE_MS: '8000',
      JOBS_PROCESS_EVERY: '1 second',
      GATEWAY_EVENT_RETRY_EVERY: '1 second',
    });
    children.push(child);
    return child;
  }

  const post = async (child: Child, event: FakeEvent) => {
    const body = JSON.stringify(event);
    const response = await fetch(`${child.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.signPayload(body) }, body });
    return { status: response.status, body: (await response.json()) as { status?: string } };
  };

  const count = async (sql: string): Promise<number> => (await pool.query<{ n: number }>(sql)).rows[0].n;

  beforeAll(async () => {
    await buildRecoup();
    db = await createTestDatabase();
    stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET });
    telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
    pool = new Pool({ connectionString: db.url, max: 3 });
  }, 150_000);

  afterAll(async () => {
    for (const child of children) await kill(child);
    await pool?.end();
    await telegram?.close();
    await stripe?.close();
    await db?.drop();
  });

  it(`applies each of ${PAYMENTS} acknowledged events exactly once across a SIGKILL before they were applied`, async () => {
    const first = await startRecoup();
    const api = await client(first, JWT_SECRET);
    const { planId } = await seedCatalog(api);
    const events: FakeEvent[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const customer = must(await api.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: `Inbox ${i}`, telegramUserId: String(970000000 + i) } }));
      const payment = await createPayment(api, customer.createCustomer.id, planId);
      const paid = await stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
      events.push(paid.events.find((e) => e.type === 'payment_intent.succeeded')!);
    }

    // An operator's long transaction holds every payment: applying must wait, acknowledging must not.
    const holder: PoolClient = await pool.connect();
    await holder.query('begin');
    await holder.query(`select id from payments for update`);
    const answers = await Promise.all(events.map((event) => post(first, event)));
    expect(answers.map((a) => `${a.status} ${a.body.status}`)).toEqual(events.map(() => '200 stored'));
    // Killed with events claimed (by the in-process drain and by the sweep job) and the sweep mid-run:
    // the claims' leases (8 s, still running when the new process starts) and the sweep's job lock
    // die with the process and must run out (the lock in 30 s at most, renewed by a heartbeat while
    // the process lives), not hold the sweep back for minutes.
    await eventually(async () => (await count(`select count(*)::int as n from gateway_events where attempts > 0`)) > 0, 10_000, 50);
    await eventually(async () => (await count(`select count(*)::int as n from agenda_jobs where name = 'gateway-events:retry' and locked_at is not null`)) > 0, 10_000, 50);
    await kill(first);
    await holder.query('rollback');
    holder.release();

    const atKill = { stored: await count(`select count(*)::int as n from gateway_events`), applied: await count(`select count(*)::int as n from gateway_events where processed_at is not null`), claimed: await count(`select count(*)::int as n from gateway_events where attempts > 0`) };
    expect(atKill).toMatchObject({ stored: PAYMENTS, applied: 0 });

    const restartedAt = Date.now();
    const second = await startRecoup();
    await eventually(async () => (await count(`select count(*)::int as n from payments where status = 'SUCCEEDED'`)) === PAYMENTS, 60_000, 100);
    const appliedInMs = Date.now() - restartedAt;

    // Stripe redelivers what it likes: each is a duplicate now.
    const redelivered = await Promise.all(events.slice(0, 5).map((event) => post(second, event)));
    expect(redelivered.map((a) => a.body.status)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);

    const successes = await pool.query<{ n: number }>(`select count(*)::int as n from audit_entries where action = 'payment.transition' and after->>'status' = 'SUCCEEDED' group by subject_id`);
    expect(successes.rows.map((r) => r.n)).toEqual(Array.from({ length: PAYMENTS }, () => 1));
    expect(await count(`select count(*)::int as n from gateway_events where processed_at is null`)).toBe(0);
    console.log(`inbox chaos: ${PAYMENTS} events acknowledged while unappliable; at SIGKILL ${atKill.stored} stored, ${atKill.claimed} claimed, ${atKill.applied} applied; all applied exactly once ${appliedInMs} ms after restart (leases of 8 s and the dead sweep's 30 s job lock run out, then the sweep)`);
  }, 150_000);
});
