/**
 * Retry queue throughput: BENCH_JOBS (100 000) due retry jobs, each for its own customer and
 * card, processed by one RetryProcessor against the fake Stripe answering every charge after
 * BENCH_STRIPE_MS (20 ms). Prints jobs/s and the claim overhead per job. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/retries.bench.js
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 * BENCH_CONCURRENCY (32) charges in flight, BENCH_BATCH (200) jobs per claim.
 */
import 'reflect-metadata';
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { systemActor } from '../../src/platform/database/transaction';
import type { RunSummary } from '../../src/retries/retry-processor';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import type { FakeStripeWorkerData, FakeStripeWorkerMessage } from './fake-stripe.worker';
import { benchDatabase } from './bench-database';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

const JOBS = envInt('BENCH_JOBS', 100_000, 1, 1_000_000);
const STRIPE_MS = envInt('BENCH_STRIPE_MS', 20, 0, 10_000);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 32, 1, 256);
const BATCH = envInt('BENCH_BATCH', 200, 1, 1000);

/**
 * One plan; JOBS customers, FAILED renewal payments (the dunning case: paid ones extend a
 * subscription, nothing is delivered) and due retry jobs, by SQL, with random amounts (priorities).
 */
async function seed(app: Awaited<ReturnType<typeof startApp>>): Promise<void> {
  const actor = systemActor('bench');
  const { catalog } = app.services;
  const channel = await catalog.saveChannel(actor, null, { telegramChatId: '-1009000000002', title: 'Bench channel' });
  const bundle = await catalog.saveBundle(actor, null, { name: 'Bench bundle', channelIds: [channel.id] });
  const plan = await catalog.savePlan(actor, null, { bundleId: bundle.id, name: 'Bench monthly', amountMinor: 2500, currency: 'usd', durationDays: 30 });
  const em = app.services.db.fork();
  await em.execute(
    `with c as (insert into customers (id, name) select gen_random_uuid(), 'Bench ' || g from generate_series(1, ?::int) g returning id),
          p as (insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, capture_mode, kind, stripe_customer_id, stripe_payment_method_id)
                select gen_random_uuid(), c.id, ?, ?, 100 + (random() * 100000)::int, 'usd', 'FAILED', 'AUTOMATIC', 'RENEWAL', 'cus_' || c.id, 'pm_' || c.id from c
                returning id, customer_id, amount_minor, stripe_customer_id, stripe_payment_method_id)
     insert into retry_jobs (id, payment_id, customer_id, origin, status, amount_minor, currency, priority, stripe_customer_id, stripe_payment_method_id,
                             error_code, reason, max_attempts, next_attempt_at)
     select gen_random_uuid(), p.id, p.customer_id, 'QUEUED', 'QUEUED', p.amount_minor, 'usd', p.amount_minor, p.stripe_customer_id, p.stripe_payment_method_id,
            'processing_error', 'PROCESSING_ERROR', 3, now() - interval '1 second' from p`,
    [JOBS, plan.id, bundle.id],
  );
  await em.execute('analyze customers; analyze payments; analyze retry_jobs');
}

function report(summary: RunSummary, wallMs: number): void {
  const per = (ms: number) => (ms / Math.max(1, summary.claimed)).toFixed(3);
  console.log(`jobs claimed ${summary.claimed}, charged ${summary.charged}, succeeded ${summary.succeeded}, failed ${summary.failed}, errors ${summary.errors}`);
  console.log(`wall ${(wallMs / 1000).toFixed(1)} s → ${(summary.claimed / (wallMs / 1000)).toFixed(0)} jobs/s (concurrency ${CONCURRENCY}, batch ${BATCH}, Stripe ${STRIPE_MS} ms)`);
  console.log(`claim overhead per job: ${per(summary.claimMs)} ms claim statement (FOR UPDATE SKIP LOCKED + lease) + ${per(summary.prepareMs)} ms pre-charge transaction (checks, attempt rows) = ${per(summary.claimMs + summary.prepareMs)} ms`);
  console.log(`per job, summed over lanes: Stripe call ${per(summary.chargeMs)} ms, result transaction ${per(summary.recordMs)} ms`);
}

/** The fake Stripe on its own thread, answering every charge after STRIPE_MS. */
async function startStripeWorker(): Promise<{ url: string; intents(): Promise<string>; stop(): Promise<void> }> {
  const worker = new Worker(join(__dirname, 'fake-stripe.worker.js'), { workerData: { delayMs: STRIPE_MS } satisfies FakeStripeWorkerData });
  const next = async (): Promise<FakeStripeWorkerMessage> => (await once(worker, 'message'))[0] as FakeStripeWorkerMessage;
  const ready = await next();
  if (ready.kind !== 'ready') throw new Error('fake Stripe worker did not start');
  return {
    url: ready.url,
    intents: async () => {
      worker.postMessage('count');
      const answer = await next();
      return answer.kind === 'intents' ? `${answer.total} (${answer.succeeded} succeeded)` : '?';
    },
    stop: async () => {
      worker.postMessage('stop');
      await once(worker, 'exit');
    },
  };
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const stripe = await startStripeWorker();
  const telegram = await startFakeTelegram({ botToken: '1:bench' });
  const config = loadConfig({
    NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent', DATABASE_URL: database.url,
    STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_WEBHOOK_SECRET: 'whsec_bench', STRIPE_API_URL: stripe.url, STRIPE_MAX_NETWORK_RETRIES: '0',
    TELEGRAM_BOT_TOKEN: '1:bench', TELEGRAM_API_URL: telegram.url, DATABASE_POOL_MAX: String(CONCURRENCY + 8), RETRY_CONCURRENCY: String(CONCURRENCY), RETRY_BATCH_SIZE: String(BATCH),
  });
  const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
  try {
    console.log(`seeding ${JOBS} due retry jobs…`);
    await seed(app);
    const started = performance.now();
    const summary = await app.services.retryProcessor.run({ batchSize: BATCH, concurrency: CONCURRENCY, maxBatchesPerRun: Number.MAX_SAFE_INTEGER });
    report(summary, performance.now() - started);
    const rows: Array<{ status: string; n: number }> = await app.services.db.fork().execute(`select status, count(*)::int as n from retry_jobs group by status`);
    console.log(`jobs by status: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}; Stripe intents ${await stripe.intents()}`);
  } finally {
    await app.stop();
    await stripe.stop();
    await telegram.close();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
