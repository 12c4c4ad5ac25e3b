/**
 * Webhook intake throughput: signed `payment_intent.succeeded` events, one per distinct PENDING
 * payment, posted at BENCH_CONCURRENCY (64) connections for BENCH_SECONDS (20) to Recoup's
 * /webhooks/stripe, then to a bare node:http server that does only the signature check and one
 * INSERT into the same database with a pool of the same size. Recoup answers once an event is
 * stored and applies it afterwards (the inbox): the bench waits for that backlog to drain before
 * the baseline runs, and reports how long it took. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/intake.bench.js
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 * BENCH_MAX_EVENTS bounds the events per target (default 5000 per second of run); BENCH_LOG_LEVEL
 * (default silent) shows Recoup's log, e.g. `error` to see why events were refused.
 */
import 'reflect-metadata';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Pool } from 'pg';
import { startApp, type RecoupApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { systemActor } from '../../src/platform/database/transaction';
import { startFakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { createLogger } from '../../src/platform/observability/logger';
import type { LoadJob, LoadResult } from './intake-load.worker';
import { benchDatabase, runBench } from './bench-database';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

// Stripe rejects signatures older than 300 s; events are signed as they are sent, so any length works.
const SECONDS = envInt('BENCH_SECONDS', 20, 1, 600);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 64, 1, 1024);
const MAX_EVENTS = envInt('BENCH_MAX_EVENTS', SECONDS * 5000, 1, 2_000_000);
const WEBHOOK_SECRET = 'whsec_bench_recoup_intake';
const TOLERANCE_S = 300;

type Stop = () => Promise<void>;

/**
 * A channel, bundle and plan through the services, then `count` customers with one PENDING payment
 * each by SQL (a customer may hold only one open payment per bundle, as in production).
 */
async function seedPayments(app: RecoupApp, pool: Pool, count: number): Promise<string[]> {
  const actor = systemActor('bench');
  const { catalog } = app.services;
  const channel = await catalog.saveChannel(actor, null, { telegramChatId: '-1009000000001', title: 'Bench channel' });
  const bundle = await catalog.saveBundle(actor, null, { name: 'Bench bundle', channelIds: [channel.id] });
  const plan = await catalog.savePlan(actor, null, { bundleId: bundle.id, name: 'Bench monthly', amountMinor: 2500, currency: 'usd', durationDays: 30 });
  const { rows } = await pool.query<{ id: string }>(
    `with c as (
       insert into customers (id, name, email)
       select gen_random_uuid(), 'Bench Buyer ' || n, 'bench' || n || '@example.com' from generate_series(1, $3::int) as n
       returning id)
     insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, capture_mode)
     select gen_random_uuid(), c.id, $1, $2, 2500, 'usd', 'PENDING', 'AUTOMATIC' from c
     returning id`,
    [plan.id, bundle.id, count],
  );
  // A live table has planner statistics; a bulk insert leaves none until autovacuum gets to it.
  await pool.query('analyze customers; analyze payments');
  return rows.map((r) => r.id);
}

/** Stripe-Signature `t=<ts>,v1=<hex>`: HMAC-SHA256 over `${t}.${body}`, within the tolerance. */
function validSignature(header: string | undefined, body: Buffer): boolean {
  const parts = new Map<string, string[]>();
  for (const item of (header ?? '').split(',')) {
    const [key, value] = item.split('=', 2);
    if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > TOLERANCE_S) return false;
  const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.`).update(body).digest();
  return (parts.get('v1') ?? []).some((hex) => hex.length === 64 && timingSafeEqual(Buffer.from(hex, 'hex'), expected));
}

/** The baseline: verify, parse, one INSERT, answer 200 only after it committed. */
async function startBareServer(pool: Pool): Promise<{ url: string; stop: Stop }> {
  await pool.query('create table if not exists bench_events (id text primary key, payload jsonb not null)');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST' || !validSignature(req.headers['stripe-signature'] as string | undefined, body)) {
        res.writeHead(400).end('{"error":"bad signature"}');
        return;
      }
      const event = JSON.parse(body.toString('utf8')) as { id: string };
      pool.query('insert into bench_events (id, payload) values ($1, $2) on conflict (id) do nothing', [event.id, body.toString('utf8')]).then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}'),
        () => res.writeHead(500).end('{"error":"not stored"}'),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function load(url: string, prefix: string, paymentIds: string[]): Promise<LoadResult> {
  const job: LoadJob = { url, prefix, paymentIds, webhookSecret: WEBHOOK_SECRET, seconds: SECONDS, concurrency: CONCURRENCY, requestTimeoutMs: 30_000 };
  const worker = new Worker(require.resolve('./intake-load.worker'), { workerData: job });
  try {
    const message = await new Promise<LoadResult | { error: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`load worker exited with ${code} before reporting`)));
    });
    if ('error' in message) throw new Error(message.error);
    return message;
  } finally {
    await worker.terminate();
  }
}

interface Figures { perSecond: number; p50: number; p99: number }

function report(label: string, r: LoadResult): Figures {
  const sorted = Float64Array.from(r.latenciesMs).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const figures = { perSecond: r.accepted / (r.elapsedMs / 1000), p50: at(0.5), p99: at(0.99) };
  const failures = Object.entries(r.failures).map(([k, v]) => `${k}:${v}`).join(' ') || 'none';
  console.log(
    `${label.padEnd(7)} ${figures.perSecond.toFixed(0).padStart(6)} events/s  p50 ${figures.p50.toFixed(1).padStart(6)} ms  p99 ${figures.p99.toFixed(1).padStart(6)} ms` +
      `  (${r.accepted}/${r.sent} accepted in ${(r.elapsedMs / 1000).toFixed(1)} s; failures: ${failures}${r.ranOutOfPayments ? '; ran out of payments, raise BENCH_MAX_EVENTS' : ''})`,
  );
  return figures;
}

async function main(): Promise<number> {
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET });
    cleanups.unshift(() => stripe.close());
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      DATABASE_URL: database.url,
      STRIPE_SECRET_KEY: 'sk_test_bench',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: stripe.url,
      TELEGRAM_BOT_TOKEN: '123456:bench-token',
      TELEGRAM_API_URL: 'http://127.0.0.1:9',
      AUTH_JWT_SECRET: 'bench-secret-that-is-at-least-32-characters',
      // The bench measures intake, not the per-IP webhook limit (all its traffic comes from one IP).
      RATE_LIMIT_WEBHOOK_MAX: '0',
      ...(process.env.DATABASE_POOL_MAX ? { DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX } : {}),
    });
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    const pool = new Pool({ connectionString: database.url, max: config.databasePoolMax });
    cleanups.unshift(() => pool.end());

    const paymentIds = await seedPayments(app, pool, MAX_EVENTS);
    console.log(`intake bench: ${SECONDS} s per target, ${CONCURRENCY} connections, ${paymentIds.length} pending payments, pool ${config.databasePoolMax}, ${os.cpus().length} CPUs`);
    const recoup = await load(`${app.url}/webhooks/stripe`, 'rc', paymentIds);
    // The route answers once the event is stored; applying it is the inbox's work, after the answer.
    // It finishes before the baseline runs, so the bare server does not share the machine with it.
    const backlog = await pool.query<{ n: number }>(`select count(*)::int as n from gateway_events where processed_at is null`);
    const drainStarted = Date.now();
    await app.services.intake.whenIdle();
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const bare = await startBareServer(pool);
    cleanups.unshift(bare.stop);
    const baseline = await load(bare.url, 'bb', paymentIds);

    const r = report('recoup', recoup);
    const b = report('bare', baseline);
    console.log(`ratio   recoup/bare  events/s ${(r.perSecond / b.perSecond).toFixed(2)}  p50 ${(r.p50 / b.p50).toFixed(2)}  p99 ${(r.p99 / b.p99).toFixed(2)}`);
    console.log(`apply   ${backlog.rows[0].n} of ${recoup.accepted} stored events not yet applied when the load ended; the inbox drained them in ${drainSeconds.toFixed(1)} s`);
    const counts = await pool.query<{ succeeded: number; stored: number; unapplied: number }>(
      `select (select count(*)::int from payments where status = 'SUCCEEDED') as succeeded, (select count(*)::int from bench_events) as stored,
              (select count(*)::int from gateway_events where processed_at is null) as unapplied`,
    );
    const { succeeded, stored, unapplied } = counts.rows[0];
    const consistent = succeeded === recoup.accepted && unapplied === 0 && stored === baseline.accepted;
    console.log(`check   recoup payments SUCCEEDED ${succeeded} vs accepted ${recoup.accepted} (${unapplied} events unapplied); bare rows ${stored} vs accepted ${baseline.accepted}: ${consistent ? 'OK' : 'MISMATCH'}`);
    return consistent ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
