/**
 * Stale-payment cleanup at BENCH_SIZES (100k, then 1M) payments, 1% of them stale (PENDING, older
 * than the 30-minute expiry), 1% fresh PENDING, the rest SUCCEEDED; one customer per payment, one
 * bundle and plan. 1% of the stale payments have a Checkout Session at a fake Stripe, so the run
 * also expires sessions over HTTP through the real SDK. For each size it times the cleanup's
 * stale-batch query (median of BENCH_QUERY_REPS, and its EXPLAIN ANALYZE plan, which must use the
 * partial index payments_open_by_age) and one full StaleCleanup run. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/cleanup.bench.js
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 *
 * The work of a run is proportional to the stale payments (10× more at 1M), so the size ratio that
 * shows whether the sweep scales is per stale payment, and the batch query's: both should stay
 * within 1.5× of 100k. The whole-run ratio is printed too.
 */
import 'reflect-metadata';
import os from 'node:os';
import { Pool } from 'pg';
import { startApp, type RecoupApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { systemActor } from '../../src/platform/database/transaction';
import { startFakeStripe, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { Payment } from '../../src/payments/payment.entity';
import { OPEN_STATUSES } from '../../src/payments/payment-status';
import { createLogger } from '../../src/platform/observability/logger';
import { benchDatabase, runBench } from './bench-database';

const SIZES = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
const QUERY_REPS = Number(process.env.BENCH_QUERY_REPS ?? 25);
const TARGET_RATIO = 1.5;
const actor = systemActor('bench');

type Stop = () => Promise<void>;
interface Figures {
  size: number; stale: number; queryMs: number; serverMs: number; usesIndex: boolean;
  runs: number; firstRunMs: number; sweepMs: number; expired: number; foundPaid: number; errors: number; stripeCalls: number; leftStale: number;
}

/**
 * `size` customers with one payment each, in one statement. Timestamps are cut to milliseconds, as
 * the app writes them. Stale ones are spread over the day before the cutoff, the rest over 90 days.
 */
async function seed(pool: Pool, plan: { id: string; bundleId: string }, size: number): Promise<number> {
  const stale = Math.round(size / 100);
  await pool.query('truncate customers, cleanup_runs, alerts, audit_entries cascade');
  await pool.query(
    `with c as (insert into customers (id, name) select gen_random_uuid(), 'Bench ' || n from generate_series(1, $1::int) n returning id),
     rows as (select id, row_number() over () as n from c),
     timed as (
       select id, n, date_trunc('milliseconds', case
         when n <= $4 then now() - interval '31 minutes' - (n % 86400) * interval '1 second'
         when n <= 2 * $4 then now() - (n % 1200) * interval '1 second'
         else now() - interval '1 hour' - (n % 7776000) * interval '1 second' end) as at
       from rows)
     insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, capture_mode, created_at, updated_at, status_changed_at, succeeded_at, paid_at)
     select gen_random_uuid(), id, $2, $3, 2500, 'usd', case when n <= 2 * $4 then 'PENDING' else 'SUCCEEDED' end, 'AUTOMATIC', at, at, at,
       case when n > 2 * $4 then at + interval '2 minutes' end, case when n > 2 * $4 then at + interval '2 minutes' end
     from timed`,
    [size, plan.id, plan.bundleId, stale],
  );
  // A live table has planner statistics; a bulk insert leaves none until autovacuum gets to it.
  await pool.query('vacuum analyze customers');
  await pool.query('vacuum analyze payments');
  return stale;
}

/** 1% of the stale payments get a real Checkout Session at the fake, as if the customer had opened checkout. */
async function openSessions(app: RecoupApp, pool: Pool, stale: number): Promise<void> {
  const { rows } = await pool.query<{ id: string }>(
    `select id from payments where status = 'PENDING' and created_at < now() - interval '30 minutes' order by id limit $1`,
    [Math.max(1, Math.round(stale / 100))],
  );
  const { checkoutSuccessUrl: successUrl, checkoutCancelUrl: cancelUrl } = app.services.config.stripe;
  for (const { id } of rows) {
    const session = await app.services.gateway.createCheckoutSession({
      paymentId: id, amountMinor: 2500, currency: 'usd', productName: 'Bench monthly', manualCapture: false, customerEmail: null,
      expiresAt: new Date(Date.now() + 31 * 60_000), successUrl, cancelUrl, idempotencyKey: `checkout:${id}`,
    });
    await pool.query('update payments set stripe_checkout_session_id = $2, checkout_url = $3 where id = $1', [id, session.id, session.url]);
  }
}

/** The stale-batch query exactly as StaleCleanup builds it (first batch), with its parameters inlined. */
function staleBatchSql(app: RecoupApp): string {
  const cutoff = app.services.pending.staleCutoff();
  return app.services.db.fork().createQueryBuilder(Payment)
    .select('*')
    .where({ status: { $in: [...OPEN_STATUSES] }, createdAt: { $lt: cutoff } })
    .orderBy({ createdAt: 'asc', id: 'asc' })
    .limit(app.services.config.payments.cleanupBatchSize)
    .getFormattedQuery();
}

/** Median round trip (with 500 rows to parse) and the server's own Execution Time from EXPLAIN ANALYZE. */
async function timeQuery(pool: Pool, sql: string): Promise<{ ms: number; serverMs: number; plan: string[] }> {
  const times: number[] = [];
  for (let i = 0; i < QUERY_REPS; i++) {
    const started = process.hrtime.bigint();
    await pool.query(sql);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const explained = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`);
  const plan = explained.rows.map((r) => r['QUERY PLAN']);
  const serverMs = Number(plan.find((line) => line.startsWith('Execution Time'))?.match(/([\d.]+) ms/)?.[1] ?? NaN);
  return { ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)], serverMs, plan };
}

interface Bench { app: RecoupApp; pool: Pool; stripe: FakeStripe; plan: { id: string; bundleId: string } }

const MAX_RUNS = 20;
const expireCalls = (stripe: FakeStripe) => stripe.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/expire')).length;

async function staleLeft(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from payments where status in ('PENDING', 'FAILED') and created_at < now() - interval '30 minutes'`);
  return rows[0].n;
}

/** Seeds, times the batch query, then sweeps: runs (each bounded to 60 s by StaleCleanup) until nothing is stale. */
async function measure({ app, pool, stripe, plan }: Bench, size: number): Promise<Figures> {
  const seedStarted = Date.now();
  const stale = await seed(pool, plan, size);
  await openSessions(app, pool, stale);
  console.log(`\n${size} payments seeded in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s (${stale} stale)`);

  const sql = staleBatchSql(app);
  const query = await timeQuery(pool, sql);
  console.log(`stale-batch query: ${sql}\n  ${query.plan.join('\n  ')}`);

  const figures: Figures = {
    size, stale, queryMs: query.ms, serverMs: query.serverMs, usesIndex: query.plan.some((line) => line.includes('Index Scan using payments_open_by_age')),
    runs: 0, firstRunMs: 0, sweepMs: 0, expired: 0, foundPaid: 0, errors: 0, stripeCalls: 0, leftStale: stale,
  };
  const callsBefore = expireCalls(stripe);
  while (figures.leftStale > 0 && figures.runs < MAX_RUNS) {
    const started = process.hrtime.bigint();
    const report = await app.services.staleCleanup.run(actor, 'bench');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (figures.runs++ === 0) figures.firstRunMs = ms;
    Object.assign(figures, { sweepMs: figures.sweepMs + ms, expired: figures.expired + report.expired, foundPaid: figures.foundPaid + report.foundPaid, errors: figures.errors + report.errors });
    figures.leftStale = await staleLeft(pool);
  }
  figures.stripeCalls = expireCalls(stripe) - callsBefore;
  return figures;
}

function print(all: Figures[]): boolean {
  console.log('\nsize        stale  batch query  (server)  index  runs  first run ms  sweep ms  expired  errors  stripe expires  ms/stale');
  for (const f of all) {
    const cells = [
      String(f.size).padEnd(9), String(f.stale).padStart(6), `${f.queryMs.toFixed(2).padStart(8)} ms`, `${f.serverMs.toFixed(2).padStart(6)} ms`, (f.usesIndex ? 'yes' : 'NO').padStart(6),
      String(f.runs).padStart(5), f.firstRunMs.toFixed(0).padStart(13), f.sweepMs.toFixed(0).padStart(9), String(f.expired).padStart(8),
      String(f.errors).padStart(7), String(f.stripeCalls).padStart(15), (f.sweepMs / f.stale).toFixed(2).padStart(9),
    ];
    console.log(cells.join(' '));
  }
  const [small, large] = [all[0], all[all.length - 1]];
  if (all.length > 1) {
    const verdict = (r: number) => `${r.toFixed(2)} (${r <= TARGET_RATIO ? 'OK' : 'OVER'}, target ≤ ${TARGET_RATIO})`;
    const perStale = large.sweepMs / large.stale / (small.sweepMs / small.stale);
    console.log(`\nratio ${large.size}/${small.size}: batch query ${verdict(large.queryMs / small.queryMs)}, on the server ${verdict(large.serverMs / small.serverMs)};`);
    console.log(`  sweep per stale payment ${verdict(perStale)}`);
    console.log(`  whole sweep ${(large.sweepMs / small.sweepMs).toFixed(2)} for ${(large.stale / small.stale).toFixed(0)}× the stale payments (the work is per stale payment)`);
  }
  const consistent = all.every((f) => f.usesIndex && f.errors === 0 && f.leftStale === 0 && f.expired + f.foundPaid === f.stale);
  console.log(`check  every stale payment expired, no errors, payments_open_by_age used: ${consistent ? 'OK' : 'MISMATCH'}`);
  return consistent;
}

async function main(): Promise<number> {
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const stripe = await startFakeStripe();
    cleanups.unshift(() => stripe.close());
    const config = loadConfig({
      // 'test': no production-only settings (webhook secrets, SMTP…) that a cleanup run does not use.
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      DATABASE_URL: database.url,
      STRIPE_SECRET_KEY: 'sk_test_bench',
      STRIPE_WEBHOOK_SECRET: 'whsec_bench_recoup_cleanup',
      STRIPE_API_URL: stripe.url,
      TELEGRAM_BOT_TOKEN: '123456:bench-token',
      TELEGRAM_API_URL: 'http://127.0.0.1:9',
      AUTH_JWT_SECRET: 'bench-secret-that-is-at-least-32-characters',
    });
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    const pool = new Pool({ connectionString: database.url, max: 4 });
    cleanups.unshift(() => pool.end());

    const { catalog } = app.services;
    const channel = await catalog.saveChannel(actor, null, { telegramChatId: '-1009000000002', title: 'Bench channel' });
    const bundle = await catalog.saveBundle(actor, null, { name: 'Bench bundle', channelIds: [channel.id] });
    const plan = await catalog.savePlan(actor, null, { bundleId: bundle.id, name: 'Bench monthly', amountMinor: 2500, currency: 'usd', durationDays: 30 });
    console.log(`cleanup bench: sizes ${SIZES.join(', ')}, batch ${config.payments.cleanupBatchSize}, expiry ${config.payments.checkoutExpiryMinutes} min, ${os.cpus().length} CPUs`);

    const all: Figures[] = [];
    for (const size of SIZES) all.push(await measure({ app, pool, stripe, plan: { id: plan.id, bundleId: bundle.id } }, size));
    return print(all) ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
