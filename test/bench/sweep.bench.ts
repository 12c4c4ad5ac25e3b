/**
 * The sweep's cost must follow the work, not the table: the time of its claim query
 * (claimDue(200, 'sweep')) with 100k and then 1M payments, 1% of them due, and the query plan
 * (the deliveries_due partial index). Target: 1M within 1.5× of 100k and under 200 ms.
 * Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/sweep.bench.js
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { startApp, type RecoupApp } from '../../src/app/app';
import { resolveLogFormat } from '../../src/platform/config';
import { createLogger } from '../../src/platform/observability/logger';
import { benchConfig, benchDatabase, envInt, percentile, seedCatalog, type Stop } from './delivery.bench';
import { runBench } from './bench-database';

const RUNS = envInt('BENCH_RUNS', 50, 1, 1000);

/** Adds payments up to `total`: every 100th owes a delivery that is due, the rest were delivered. */
async function growTo(pool: Pool, cat: { planId: string; bundleId: string }, customerId: string, total: number): Promise<void> {
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from payments`);
  await pool.query(
    `with p as (insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, paid_at, succeeded_at)
                select gen_random_uuid(), $1, $2, $3, 2500, 'usd', 'SUCCEEDED', now(), now() from generate_series($4::int + 1, $5::int) n
                returning id, paid_at)
     insert into deliveries (payment_id, status, attempts, next_attempt_at, delivered_at, paid_at)
     select p.id, case when n % 100 = 0 then 'PENDING' else 'DELIVERED' end, 1,
            case when n % 100 = 0 then now() - make_interval(secs => n % 3600) end, case when n % 100 = 0 then null else now() end, p.paid_at
       from (select p.*, row_number() over () + $4::int as n from p) p`,
    [customerId, cat.planId, cat.bundleId, rows[0].n, total],
  );
  await pool.query('vacuum analyze payments');
  await pool.query('vacuum analyze deliveries');
}

/**
 * Claims, timed; then puts the rows back as they were, untimed, so every run claims the same 200
 * oldest rows (the same pages) in both tables and sees the same table.
 */
async function timeClaim(table: Table): Promise<number> {
  const started = performance.now();
  const { ids } = await table.app.services.delivery.claimDue(200, 'sweep');
  const ms = performance.now() - started;
  if (ids.length !== 200) throw new Error(`claimed ${ids.length}, expected 200`);
  await table.pool.query(
    `update deliveries t set status = 'PENDING', next_attempt_at = d.at from unnest($1::uuid[], $2::timestamptz[]) as d(id, at) where t.payment_id = d.id`,
    [ids, ids.map((id) => table.dueAt.get(id))],
  );
  return ms;
}

async function explain(table: Table): Promise<string[]> {
  const { pool } = table;
  let n = 0;
  const sql = (await table.app.services.delivery.claimDueSql('sweep')).replace(/\?/g, () => `$${++n}`);
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off) ${sql}`, [new Date(Date.now() + 30_000), new Date(), new Date(), 200]);
    return rows.map((r) => r['QUERY PLAN']);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

interface Table {
  total: number;
  app: RecoupApp;
  pool: Pool;
  times: number[];
  /** When each due payment was due, as seeded. */
  dueAt: Map<string, Date>;
}

/** A database of `total` payments with Recoup on it (jobs off). */
async function table(total: number, cleanups: Stop[]): Promise<Table> {
  const database = await benchDatabase();
  cleanups.unshift(database.stop);
  const config = benchConfig(database.url, 'http://127.0.0.1:9');
  const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
  cleanups.unshift(() => app.stop());
  const pool = new Pool({ connectionString: database.url, max: 2 });
  cleanups.unshift(() => pool.end());
  const seeding = Date.now();
  const { rows } = await pool.query<{ id: string }>(`insert into customers (id, name) values (gen_random_uuid(), 'Bench') returning id`);
  await growTo(pool, await seedCatalog(app), rows[0].id, total);
  console.log(`seeded ${total.toLocaleString('en')} payments, ${(total / 100).toLocaleString('en')} due, in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
  const due = await pool.query<{ id: string; at: Date }>(`select payment_id as id, next_attempt_at as at from deliveries where status = 'PENDING'`);
  return { total, app, pool, times: [], dueAt: new Map(due.rows.map((r) => [r.id, r.at])) };
}

async function main(): Promise<number> {
  const cleanups: Stop[] = [];
  try {
    const tables = [await table(100_000, cleanups), await table(1_000_000, cleanups)];
    // Seeding dirtied a lot of pages: write them out now, not during the timed runs; warm the caches.
    for (const t of tables) await t.pool.query('checkpoint').catch(() => undefined);
    for (let i = 0; i < 5; i++) for (const t of tables) await timeClaim(t);
    // Interleaved, so both sizes see the same noise from the rest of the machine.
    for (let i = 0; i < RUNS; i++) for (const t of tables) t.times.push(await timeClaim(t));
    for (const t of tables) {
      const times = t.times.sort((a, b) => a - b);
      console.log(`\n${t.total.toLocaleString('en')} payments: claimDue(200) p50 ${percentile(times, 0.5).toFixed(2)} ms  p95 ${percentile(times, 0.95).toFixed(2)} ms  max ${percentile(times, 1).toFixed(2)} ms over ${RUNS} runs`);
      const plan = await explain(t);
      console.log(plan.map((line) => `  ${line}`).join('\n'));
      if (!plan.some((line) => line.includes('deliveries_due'))) console.log('  !! the plan does not use deliveries_due');
    }
    const [small, large] = tables.map((t) => percentile(t.times, 0.5));
    const ok = large / small <= 1.5 && large < 200;
    console.log(`\n1M / 100k = ${(large / small).toFixed(2)}× (p50); target ≤ 1.5× and < 200 ms: ${ok ? 'MET' : 'NOT MET'}`);
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
