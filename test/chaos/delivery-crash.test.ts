import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { startFakeStripe, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, signToken, type GqlResult, type Harness } from '../support/harness';

/**
 * Recoup as a real process, killed with SIGKILL while deliveries hang in Telegram, then started
 * again on the same database: every paid payment must end DELIVERED with exactly one message.
 */
const ROOT = join(__dirname, '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const JWT_SECRET = 'chaos-secret-that-is-at-least-32-characters';
const WEBHOOK_SECRET = 'whsec_chaos_recoup';
const BOT_TOKEN = '424242:chaos-bot-token';
const PAYMENTS = 40;
const FIRST_CHAT = 960000000;

interface Child {
  process: ChildProcess;
  url: string;
  output: string[];
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });

/**
 * tsc emits even when it reports type errors; those are `npm run typecheck`'s business, and an
 * unrelated one elsewhere in the tree should not stop this test from exercising crash recovery.
 */
async function build(): Promise<void> {
  const started = Date.now();
  try {
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? '');
    if (!output.includes('error TS') || statSync(MAIN).mtimeMs < started) throw error;
    console.warn(`tsc reported type errors; running the emitted build anyway:\n${output.split('\n').slice(0, 10).join('\n')}`);
  }
}

describe('delivery survives SIGKILL', () => {
  const children: Child[] = [];
  let db: TestDatabase;
  let stripe: FakeStripe;
  let telegram: FakeTelegram;
  let pool: Pool;

  async function startRecoup(): Promise<Child> {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
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
    };
    const child: Child = { process: spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }), url: `http://127.0.0.1:${port}`, output: [] };
    children.push(child);
    // Should jest's worker die before afterAll, take the child along rather than leave it running.
    process.once('exit', () => child.process.kill('SIGKILL'));
    const keep = (chunk: Buffer) => child.output.push(...chunk.toString().split('\n').filter(Boolean).slice(-50));
    child.process.stdout!.on('data', keep);
    child.process.stderr!.on('data', keep);
    await eventually(async () => child.process.exitCode === null && (await fetch(`${child.url}/readyz`)).ok, 30_000, 100).catch((error: Error) => {
      throw new Error(`Recoup did not become ready: ${error.message}\n${child.output.slice(-30).join('\n')}`);
    });
    stripe.setWebhookUrl(`${child.url}/webhooks/stripe`);
    return child;
  }

  /** Enough of a Harness for the fixtures: GraphQL against the child. */
  async function client(child: Child): Promise<Harness> {
    const tokens = { admin: await signToken('chaos-admin', 'ADMIN', JWT_SECRET), operator: await signToken('chaos-operator', 'OPERATOR', JWT_SECRET), viewer: '' };
    const gql = async (query: string, variables?: Record<string, unknown>, auth?: { token?: string | null }): Promise<GqlResult> => {
      const response = await fetch(`${child.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${auth?.token ?? tokens.admin}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: GqlResult['errors'] };
      return { status: response.status, data: body.data ?? null, errors: body.errors };
    };
    return { gql, tokens } as unknown as Harness;
  }

  const kill = async (child: Child) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return;
    const exited = new Promise((resolve) => child.process.once('exit', resolve));
    child.process.kill('SIGKILL');
    await exited;
  };

  const deliveryStates = async () =>
    (await pool.query<{ state: string; n: number }>(`select coalesce(d.status, 'none') || case when d.attempts > 0 then ' (retried)' else '' end as state, count(*)::int as n from payments p left join deliveries d on d.payment_id = p.id where p.status = 'SUCCEEDED' group by 1 order by 1`)).rows;

  beforeAll(async () => {
    await build();
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
    const api = await client(first);
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
