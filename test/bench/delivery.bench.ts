/**
 * Webhook to Telegram latency: signed `payment_intent.succeeded` events for pre-seeded PENDING
 * payments, BENCH_RATE (50) per second for BENCH_SECONDS (60), posted to Recoup's /webhooks/stripe;
 * a fake Telegram answers at once and records when each sendMessage arrives. Prints p50/p95/p99
 * from the webhook request's start to its sendMessage (target p99 < 1 s). The sender and the fake
 * run on a worker thread, Recoup alone on the main one. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/delivery.bench.js
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 * This file also exports the helpers the recovery and sweep benches share.
 */
import 'reflect-metadata';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { Pool } from 'pg';
import { startApp, type RecoupApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat, type Config } from '../../src/platform/config';
import { systemActor } from '../../src/platform/database/transaction';
import { FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { eventBody } from './intake-load.worker';
import { benchDatabase, type Stop } from './bench-database';

export const BOT_TOKEN = '777000:bench-bot-token';
const WEBHOOK_SECRET = 'whsec_bench_recoup_delivery';
export const FIRST_CHAT = 800000000;
const OUTSIDE = '--bench-outside';

export function envInt(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

export function benchConfig(databaseUrl: string, telegramUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    DATABASE_URL: databaseUrl,
    STRIPE_SECRET_KEY: 'sk_test_bench',
    // Production settings against the fake Stripe: a test-mode key is allowed on purpose.
    STRIPE_ALLOW_TEST_KEYS: 'true',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: 'http://127.0.0.1:9',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_URL: telegramUrl,
    AUTH_JWT_SECRET: 'bench-secret-that-is-at-least-32-characters',
    // The benches drive Recoup directly; no Telegram updates, and no rate limit on one source IP.
    TELEGRAM_UPDATES_MODE: 'off',
    RATE_LIMIT_WEBHOOK_MAX: '0',
    ...env,
  });
}

/** One channel, bundle and plan through the services. */
export async function seedCatalog(app: RecoupApp): Promise<{ planId: string; bundleId: string }> {
  const actor = systemActor('bench');
  const { catalog } = app.services;
  const channel = await catalog.saveChannel(actor, null, { telegramChatId: `-100${Date.now()}`, title: 'Bench channel' });
  const bundle = await catalog.saveBundle(actor, null, { name: 'Bench bundle', channelIds: [channel.id] });
  const plan = await catalog.savePlan(actor, null, { bundleId: bundle.id, name: 'Bench monthly', amountMinor: 2500, currency: 'usd', durationDays: 30 });
  return { planId: plan.id, bundleId: bundle.id };
}

/**
 * `count` payments, each with its own customer (Telegram id FIRST_CHAT + n - 1) so every message
 * maps to one payment. `paid`: SUCCEEDED and owing a delivery, as a crash leaves them; else PENDING.
 */
export async function seedPayments(pool: Pool, cat: { planId: string; bundleId: string }, count: number, paid: boolean): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `with c as (insert into customers (id, name, telegram_user_id)
                select gen_random_uuid(), 'Bench ' || n, ($3::bigint + n - 1)::text from generate_series(1, $1::int) n returning id, telegram_user_id)
        , p as (insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, paid_at, succeeded_at)
                select gen_random_uuid(), c.id, $2, $4, 2500, 'usd', case when $5 then 'SUCCEEDED' else 'PENDING' end,
                       case when $5 then now() end, case when $5 then now() end
                  from c order by c.telegram_user_id::bigint
                returning id, paid_at)
        , d as (insert into deliveries (payment_id, status, attempts, next_attempt_at, paid_at) select p.id, 'PENDING', 0, now(), p.paid_at from p where $5)
     select id from p`,
    [count, cat.planId, FIRST_CHAT, cat.bundleId, paid],
  );
  return rows.map((r) => r.id);
}

export function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN;
}

const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

function post(agent: http.Agent, url: string, body: string, signature: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'stripe-signature': signature } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

interface Outcome {
  /** Per payment: when its webhook request started, and when its first sendMessage reached the fake (or null). */
  sentAt: number[];
  arrivedAt: Array<number | null>;
  failed: number;
}

/**
 * The world outside Recoup, on a worker thread so that it does not share Recoup's event loop: the
 * fake Telegram, and the gateway sending webhooks open loop (event n leaves at start + n / rate,
 * whatever the answers, as Stripe would send them).
 */
async function outside(): Promise<void> {
  const port = parentPort!;
  const telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
  port.postMessage({ telegramUrl: telegram.url });
  const job = await new Promise<{ webhookUrl: string; paymentIds: string[]; rate: number }>((resolve) => port.once('message', resolve));
  const signer = new FakeStripe({ webhookSecret: WEBHOOK_SECRET });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sentAt: number[] = [];
  const answers: Array<Promise<number>> = [];
  const start = Date.now() + 100;
  for (let n = 0; n < job.paymentIds.length; n++) {
    await sleepUntil(start + (n * 1000) / job.rate);
    const body = eventBody('dlv', n, job.paymentIds[n]);
    sentAt[n] = Date.now();
    answers.push(post(agent, job.webhookUrl, body, signer.signPayload(body)));
  }
  const failed = (await Promise.all(answers)).filter((status) => status !== 200).length;
  const arrivals = new Map<number, number>();
  for (const deadline = Date.now() + 30_000; arrivals.size < job.paymentIds.length && Date.now() < deadline; await sleepUntil(Date.now() + 100)) {
    for (const call of telegram.callsTo('sendMessage')) if (!arrivals.has(Number(call.params.chat_id))) arrivals.set(Number(call.params.chat_id), call.at.getTime());
  }
  const outcome: Outcome = { sentAt, arrivedAt: job.paymentIds.map((_, n) => arrivals.get(FIRST_CHAT + n) ?? null), failed };
  agent.destroy();
  await Promise.all([signer.close(), telegram.close()]);
  port.postMessage(outcome);
}

async function main(): Promise<number> {
  const rate = envInt('BENCH_RATE', 50, 1, 2000);
  const seconds = envInt('BENCH_SECONDS', 60, 1, 3600);
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    // Marked by argv, not workerData: intake-load.worker (imported for eventBody) runs itself in any worker that has workerData.
    const world = new Worker(__filename, { argv: [OUTSIDE] });
    cleanups.unshift(async () => void (await world.terminate()));
    const next = <T>() => new Promise<T>((resolve, reject) => world.once('message', resolve).once('error', reject));
    const { telegramUrl } = await next<{ telegramUrl: string }>();
    const config = benchConfig(database.url, telegramUrl);
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    const pool = new Pool({ connectionString: database.url, max: 2 });
    cleanups.unshift(() => pool.end());

    const paymentIds = await seedPayments(pool, await seedCatalog(app), rate * seconds, false);
    console.log(`delivery bench: ${rate} payments/s for ${seconds} s (${paymentIds.length} payments), fake Telegram answering at once, ${os.cpus().length} CPUs`);
    const elu = performance.eventLoopUtilization();
    world.postMessage({ webhookUrl: `${app.url}/webhooks/stripe`, paymentIds, rate });
    const { sentAt, arrivedAt, failed } = await next<Outcome>();
    const busy = performance.eventLoopUtilization(elu);
    const latencies = arrivedAt.flatMap((at, n) => (at === null ? [] : [at - sentAt[n]])).sort((a, b) => a - b);
    const p = (q: number) => percentile(latencies, q).toFixed(0).padStart(5);
    console.log(`webhook → sendMessage  p50 ${p(0.5)} ms  p95 ${p(0.95)} ms  p99 ${p(0.99)} ms  max ${p(1)} ms  (${latencies.length}/${paymentIds.length} delivered, ${failed} webhooks not 200)`);
    console.log(`Recoup's event loop ${(busy.utilization * 100).toFixed(0)}% busy, ${(busy.active / paymentIds.length).toFixed(1)} ms per payment`);
    const ok = latencies.length === paymentIds.length && failed === 0 && percentile(latencies, 0.99) < 1000;
    console.log(`target p99 < 1000 ms: ${ok ? 'MET' : 'NOT MET'}`);
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

if (!isMainThread && process.argv.includes(OUTSIDE)) {
  outside().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

export { benchDatabase, type Stop } from './bench-database';
