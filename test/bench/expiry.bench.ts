/**
 * Access expiry at scale: BENCH_SUBSCRIPTIONS (10,000) lapsed subscriptions of customers who joined
 * one channel, removed against the fake Telegram enforcing BENCH_TELEGRAM_RPS (30) requests per
 * second like the real Bot API. Prints the run time and Telegram calls per customer. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/expiry.bench.js
 *
 * One run stops after 5 minutes (the job's bound); the bench runs the job until nothing is left.
 */
import 'reflect-metadata';
import { Pool } from 'pg';
import { startApp } from '../../src/app/app';
import { resolveLogFormat } from '../../src/platform/config';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { benchConfig, benchDatabase, envInt, seedCatalog, seedPayments, BOT_TOKEN, type Stop } from './delivery.bench';
import { runBench } from './bench-database';

async function main(): Promise<number> {
  const count = envInt('BENCH_SUBSCRIPTIONS', 10_000, 1, 1_000_000);
  const rps = envInt('BENCH_TELEGRAM_RPS', 30, 1, 10_000);
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const telegram = await startFakeTelegram({ botToken: BOT_TOKEN, rateLimitPerSecond: rps });
    cleanups.unshift(() => telegram.close());
    const config = benchConfig(database.url, telegram.url);
    const pool = new Pool({ connectionString: database.url, max: 2 });
    cleanups.unshift(() => pool.end());
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());

    // Paid, delivered customers whose 30-day period ended yesterday.
    const catalog = await seedCatalog(app);
    await seedPayments(pool, catalog, count, true);
    await pool.query(`update deliveries set status = 'DELIVERED', next_attempt_at = null, delivered_at = now() - interval '31 days'`);
    await pool.query(
      `insert into subscriptions (id, customer_id, bundle_id, status, current_period_start, current_period_end, auto_renew, last_payment_id)
       select gen_random_uuid(), p.customer_id, p.bundle_id, 'ACTIVE', now() - interval '31 days', now() - interval '1 day', false, p.id from payments p`,
    );
    console.log(`expiry bench: ${count} lapsed subscriptions, fake Telegram limited to ${rps} requests/s`);

    const started = Date.now();
    const totals = { lapsed: 0, removed: 0, removalFailed: 0, erased: 0, runs: 0 };
    while (totals.runs < 50) {
      const report = await app.services.accessExpiry.run();
      totals.runs++;
      totals.lapsed += report.lapsed;
      totals.removed += report.removed;
      totals.removalFailed += report.removalFailed;
      totals.erased += report.erased;
      const left = (await pool.query<{ n: number }>(`select count(*)::int as n from subscriptions where access_removed_at is null or status <> 'LAPSED'`)).rows[0].n;
      if (left === 0) break;
    }
    const seconds = (Date.now() - started) / 1000;
    const calls = telegram.calls.length;
    const limited = telegram.calls.filter((c) => (c as { errorCode?: number }).errorCode === 429).length;
    console.log(`runs ${totals.runs}: lapsed ${totals.lapsed}, removed ${totals.removed}, removal failures ${totals.removalFailed}, personal data erased ${totals.erased}`);
    console.log(`run time ${seconds.toFixed(1)} s (${(totals.removed / seconds).toFixed(1)} customers/s)`);
    console.log(`Telegram calls ${calls} (${(calls / count).toFixed(2)} per customer; ${limited} answered 429 and were retried)`);
    return totals.removed === count ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
