/**
 * revenueSeries and deliverySeries at scale: the daily rollups a year of BENCH_PAYMENTS
 * (1,000,000) payments leaves, written directly by SQL (every day of three years, 16 shard rows a
 * day, in two currencies; the series reads never touch payments, subscriptions or deliveries),
 * then BENCH_CALLS (200) GraphQL queries over HTTP, one at a time: revenueSeries for a year of
 * days, and for its months, and deliverySeries for a year of days. Printed: p50/p99 and node CPU
 * per call against two floors measured in the same run (a `select 1` round trip to PostgreSQL, a
 * `{ __typename }` GraphQL query), the service alone (no HTTP), and PostgreSQL's own time for
 * each series' statement (EXPLAIN ANALYZE); first with every day in 16 shard rows, as the triggers
 * write them, then after analytics:compact has folded the finished days (the steady state: the job
 * runs hourly). Run with NODE_ENV=production, as Recoup is deployed. Target: p99 under 50 ms.
 *
 * Then the write side (BENCH_WRITERS connections, BENCH_WRITES successes each; 0 skips it): the
 * same single-row PENDING -> SUCCEEDED updates with the analytics trigger off, as shipped (16
 * shards), and forced onto one shard row, so the cost of the trigger and of a hot row show. Not a
 * jest test:
 *
 *   npm run bench:analytics
 */
import 'reflect-metadata';
import { SignJWT } from 'jose';
import { Pool } from 'pg';
import { AnalyticsBucket } from '../../src/analytics/analytics-buckets';
import { DELIVERY_SQL, REVENUE_SQL } from '../../src/analytics/analytics.service';
import { startApp } from '../../src/app/app';
import { resolveLogFormat } from '../../src/platform/config';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { benchConfig, benchDatabase, envInt, percentile, seedCatalog, BOT_TOKEN, type Stop } from './delivery.bench';
import { runBench } from './bench-database';

const TARGET_P99_MS = 50;
const FROM = '2025-12-01';
const TO = '2026-12-01';
/** Two years before the measured one: the active-subscriptions base sums them. */
const HISTORY_FROM = '2023-12-01';
const SHARDS = 16;

const REVENUE = `query($from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!) {
  revenueSeries(from: $from, to: $to, bucket: $bucket, currency: "usd") {
    bucketStart bucketEnd grossMinor refundedMinor netMinor payments firstPurchases renewals checkoutsStarted checkoutsSucceeded checkoutSuccessRate activeSubscriptions churned
  }
}`;
const DELIVERIES = `query($from: DateTime!, $to: DateTime!) {
  deliverySeries(from: $from, to: $to, bucket: DAY) { bucketStart bucketEnd delivered recovered failed avgSeconds p95Seconds }
}`;

/**
 * Per day and shard, in usd and eur: payments spread so that a year's sum is ≈ `perYear`; a tenth
 * renewals, a third first purchases, 2 % refunded; checkouts with a 70 % success rate;
 * subscriptions started and ended; deliveries with their seconds-to-delivery buckets.
 */
async function seed(pool: Pool, perYear: number): Promise<number> {
  const perRow = perYear / 365 / SHARDS;
  const spread = (salt: number) => `(${Math.floor(perRow * 0.8)} + ((extract(doy from d)::int * 31 + s * 17 + ${salt}) % ${Math.max(1, Math.ceil(perRow * 0.4))}))`;
  await pool.query(
    `insert into analytics_daily (currency, day, shard, gross_minor, refunded_minor, payments, first_purchases, renewals, checkouts_started, checkouts_succeeded)
     select c, d::date, s, n * 2500, (n / 50) * 2500, n, n / 3, n / 10, (n * 10) / 7, n
       from generate_series($1::date, $2::date - 1, interval '1 day') d, generate_series(0, ${SHARDS - 1}) s, unnest(array['usd', 'eur']) c,
            lateral (select ${spread(0)} as n) x`,
    [HISTORY_FROM, TO],
  );
  await pool.query(
    `insert into subscription_daily (day, shard, started, ended)
     select d::date, s, n / 3, n / 3 - 1 from generate_series($1::date, $2::date - 1, interval '1 day') d, generate_series(0, ${SHARDS - 1}) s, lateral (select ${spread(1)} as n) x`,
    [HISTORY_FROM, TO],
  );
  await pool.query(
    `insert into delivery_daily (day, shard, delivered, recovered, failed, timed, seconds, le_1, le_2, le_5, le_10, le_30, le_60, le_120, le_300, le_600, le_1800, le_3600, le_7200, le_21600, le_86400, le_604800, le_inf)
     select d::date, s, n, n / 20, n / 100, n, n * 4.5, n / 4, n / 4, n / 5, n / 10, n / 20, n / 50, n / 100, n / 200, 0, 0, 0, 0, 0, 0, 0, 0
       from generate_series($1::date, $2::date - 1, interval '1 day') d, generate_series(0, ${SHARDS - 1}) s, lateral (select ${spread(2)} as n) x`,
    [HISTORY_FROM, TO],
  );
  for (const table of ['analytics_daily', 'subscription_daily', 'delivery_daily']) await pool.query(`vacuum analyze ${table}`);
  const { rows } = await pool.query<{ n: string }>(`select sum(payments) as n from analytics_daily where currency = 'usd' and day >= $1 and day < $2`, [FROM, TO]);
  return Number(rows[0].n);
}

async function timed(calls: number, call: () => Promise<void>): Promise<{ times: number[]; cpuMs: number }> {
  for (let i = 0; i < Math.min(20, calls); i++) await call();
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  const { user, system } = process.cpuUsage(cpu);
  return { times: times.sort((a, b) => a - b), cpuMs: (user + system) / 1000 / calls };
}

const line = (name: string, r: { times: number[]; cpuMs: number }) =>
  `${name.padEnd(38)} p50 ${percentile(r.times, 0.5).toFixed(2).padStart(7)} ms  p99 ${percentile(r.times, 0.99).toFixed(2).padStart(7)} ms  max ${percentile(r.times, 1).toFixed(2).padStart(7)} ms  node CPU ${r.cpuMs.toFixed(2)} ms/call`;

/** PostgreSQL's execution time for one statement, as EXPLAIN ANALYZE reports it (median of 5). */
async function serverMs(pool: Pool, sql: string, params: unknown[]): Promise<number> {
  let i = 0;
  const text = sql.replace(/\?/g, () => `$${++i}`);
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(`explain (analyze, format json) ${text}`, params);
    runs.push(rows[0]['QUERY PLAN'][0]['Execution Time']);
  }
  return runs.sort((a, b) => a - b)[2];
}

/**
 * `writers` connections, each moving its own `writes` PENDING payments to SUCCEEDED one
 * autocommitted UPDATE at a time (each a first purchase of its own customer, as a busy day has).
 */
async function writeLoad(pool: Pool, cat: { planId: string; bundleId: string }, writers: number, writes: number): Promise<{ perSecond: number; times: number[] }> {
  const { rows } = await pool.query<{ id: string }>(
    `with c as (insert into customers (id, name) select gen_random_uuid(), 'Writer ' || i from generate_series(1, $3::int) i returning id)
     insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status) select gen_random_uuid(), c.id, $1, $2, 2500, 'usd', 'PENDING' from c returning id`,
    [cat.planId, cat.bundleId, writers * writes],
  );
  const ids = rows.map((r) => r.id);
  const times: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const client = await pool.connect();
      try {
        for (const id of ids.slice(w * writes, (w + 1) * writes)) {
          const at = performance.now();
          await client.query(`update payments set status = 'SUCCEEDED', succeeded_at = now(), paid_at = now(), status_changed_at = now(), updated_at = now() where id = $1`, [id]);
          times.push(performance.now() - at);
        }
      } finally {
        client.release();
      }
    }),
  );
  return { perSecond: ids.length / ((performance.now() - started) / 1000), times: times.sort((a, b) => a - b) };
}

async function main(): Promise<number> {
  const perYear = envInt('BENCH_PAYMENTS', 1_000_000, SHARDS * 365, 1_000_000_000);
  const calls = envInt('BENCH_CALLS', 200, 1, 100_000);
  const writers = envInt('BENCH_WRITERS', 8, 0, 64);
  const writes = envInt('BENCH_WRITES', 300, 1, 100_000);
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
    cleanups.unshift(() => telegram.close());
    const config = benchConfig(database.url, telegram.url);
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    const pool = new Pool({ connectionString: database.url, max: Math.max(2, writers) });
    cleanups.unshift(() => pool.end());

    const seeding = Date.now();
    const seeded = await seed(pool, perYear);
    const { rows: sizes } = await pool.query<{ t: string; n: string }>(`select 'analytics_daily' as t, count(*) as n from analytics_daily union all select 'subscription_daily', count(*) from subscription_daily union all select 'delivery_daily', count(*) from delivery_daily`);
    console.log(`analytics bench: rollups of ${seeded.toLocaleString('en')} usd payments over ${FROM}..${TO} (and two years before, and eur) in ${((Date.now() - seeding) / 1000).toFixed(1)} s: ${sizes.map((s) => `${s.t} ${Number(s.n).toLocaleString('en')} rows`).join(', ')}`);

    const token = await new SignJWT({ role: 'VIEWER' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench-viewer').setIssuedAt().setExpirationTime('1h')
      .sign(new TextEncoder().encode(config.auth.jwtSecret!));
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { errors?: unknown; data?: Record<string, Array<Record<string, number>>> };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data!;
    };
    const year = { from: `${FROM}T00:00:00Z`, to: `${TO}T00:00:00Z` };
    const days = (await gql(REVENUE, { ...year, bucket: 'DAY' })).revenueSeries;
    const answered = days.reduce((n, p) => n + p.payments, 0);
    const agree = days.length === 365 && answered === seeded;
    console.log(`revenueSeries for the year: ${days.length} points, ${answered.toLocaleString('en')} payments (${agree ? 'equal to' : 'DIFFERENT FROM'} the rows' sum), ${days.at(-1)!.activeSubscriptions.toLocaleString('en')} active at its end`);

    const floorDb = await timed(calls, async () => void (await pool.query('select 1')));
    const floorGql = await timed(calls, async () => void (await gql('{ __typename }')));
    console.log(`\n${calls} calls each, one at a time:`);
    console.log(line('floor: select 1', floorDb));
    console.log(line('floor: { __typename }', floorGql));
    const range = { from: new Date(year.from), to: new Date(year.to), bucket: AnalyticsBucket.DAY };
    /** The three series over HTTP, the two alone through the service, and PostgreSQL's time for each statement. */
    const measure = async (label: string): Promise<number> => {
      console.log(label);
      const revenueDays = await timed(calls, async () => void (await gql(REVENUE, { ...year, bucket: 'DAY' })));
      const revenueMonths = await timed(calls, async () => void (await gql(REVENUE, { ...year, bucket: 'MONTH' })));
      const deliveryDays = await timed(calls, async () => void (await gql(DELIVERIES, year)));
      const serviceRevenue = await timed(calls, async () => void (await app.services.analytics.revenueSeries(app.services.db.fork(), { ...range, currency: 'usd' })));
      const serviceDelivery = await timed(calls, async () => void (await app.services.analytics.deliverySeries(app.services.db.fork(), range)));
      console.log(line('revenueSeries, 365 days', revenueDays));
      console.log(line('revenueSeries, 12 months', revenueMonths));
      console.log(line('deliverySeries, 365 days', deliveryDays));
      console.log(line('  revenueSeries (service, no HTTP)', serviceRevenue));
      console.log(line('  deliverySeries (service, no HTTP)', serviceDelivery));
      const revenueMs = await serverMs(pool, REVENUE_SQL, ['usd', FROM, TO, FROM, TO, FROM, 'day']);
      const deliveryMs = await serverMs(pool, DELIVERY_SQL, ['day', FROM, TO]);
      console.log(`  PostgreSQL execution of each series' statement (EXPLAIN ANALYZE, median of 5): revenueSeries ${revenueMs.toFixed(2)} ms, deliverySeries ${deliveryMs.toFixed(2)} ms`);
      return Math.max(...[revenueDays, revenueMonths, deliveryDays].map((r) => percentile(r.times, 0.99)));
    };
    const sharded = await measure('every day in 16 shard rows (as the triggers write them):');
    const compaction = await app.services.analyticsCompaction.run();
    console.log(`analytics:compact folded ${compaction.rowsFolded.toLocaleString('en')} shard rows into ${compaction.days.toLocaleString('en')} day rows in ${compaction.durationMs} ms`);
    const compacted = await measure('after analytics:compact (one row per finished day, as the hourly job keeps them):');
    const after = (await gql(REVENUE, { ...year, bucket: 'DAY' })).revenueSeries;
    const same = JSON.stringify(after) === JSON.stringify(days);
    console.log(`the series after compaction ${same ? 'equal' : 'DIFFER FROM'} the series before`);
    const verdict = (p99: number) => (p99 < TARGET_P99_MS ? 'MET' : 'NOT MET');
    const ok = agree && same && compacted < TARGET_P99_MS;
    console.log(`target p99 < ${TARGET_P99_MS} ms for a year of days at ${seeded.toLocaleString('en')} payments: ${verdict(compacted)} in the steady state (worst p99 ${compacted.toFixed(2)} ms), ${verdict(sharded)} before any compaction (worst p99 ${sharded.toFixed(2)} ms)`);

    if (writers > 0) {
      const cat = await seedCatalog(app);
      const fn = (await pool.query<{ def: string }>(`select pg_get_functiondef('analytics_payments_count'::regproc) as def`)).rows[0].def;
      const report = (name: string, r: { perSecond: number; times: number[] }) =>
        console.log(`  ${name.padEnd(30)} ${r.perSecond.toFixed(0).padStart(6)} successes/s  p50 ${percentile(r.times, 0.5).toFixed(2)} ms  p99 ${percentile(r.times, 0.99).toFixed(2)} ms`);
      console.log(`\nwrite side: ${writers} connections × ${writes} single-row successes, autocommitted:`);
      await pool.query(`alter table payments disable trigger analytics_payments_count_update`);
      report('analytics trigger off', await writeLoad(pool, cat, writers, writes));
      await pool.query(`alter table payments enable trigger analytics_payments_count_update`);
      report('as shipped (16 shards)', await writeLoad(pool, cat, writers, writes));
      await pool.query(fn.replaceAll('pg_backend_pid() % 16', '0'));
      try {
        report('one shard (a single hot row)', await writeLoad(pool, cat, writers, writes));
      } finally {
        await pool.query(fn);
      }
    }
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
