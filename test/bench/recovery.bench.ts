/**
 * Recovery after a crash: BENCH_PAYMENTS (1,000) paid payments whose delivery is owed and was
 * never attempted, written by SQL as a process killed right after committing them leaves them.
 * Then Recoup starts (jobs on, so its start-up sweep runs) and the time until the last one is
 * DELIVERED is printed (target < 30 s); DELIVERY_CONCURRENCY is passed on. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/recovery.bench.js
 */
import 'reflect-metadata';
import os from 'node:os';
import { Pool } from 'pg';
import { startApp } from '../../src/app/app';
import { resolveLogFormat } from '../../src/platform/config';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { benchConfig, benchDatabase, envInt, seedCatalog, seedPayments, BOT_TOKEN, type Stop } from './delivery.bench';
import { runBench } from './bench-database';

async function main(): Promise<number> {
  const count = envInt('BENCH_PAYMENTS', 1000, 1, 1_000_000);
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
    cleanups.unshift(() => telegram.close());
    const config = benchConfig(database.url, telegram.url, process.env.DELIVERY_CONCURRENCY ? { DELIVERY_CONCURRENCY: process.env.DELIVERY_CONCURRENCY } : {});
    const pool = new Pool({ connectionString: database.url, max: 2 });
    cleanups.unshift(() => pool.end());

    // The process that "crashed": it migrated, took the payments and died before delivering any.
    const before = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    await seedPayments(pool, await seedCatalog(before), count, true);
    await before.stop();
    console.log(`recovery bench: ${count} paid, undelivered payments; concurrency ${config.delivery.concurrency}, ${os.cpus().length} CPUs`);

    const restarted = Date.now();
    const cpu = process.cpuUsage();
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: true });
    cleanups.unshift(() => app.stop());
    const upMs = Date.now() - restarted;
    let delivered = 0;
    while (delivered < count && Date.now() - restarted < 120_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      delivered = (await pool.query<{ n: number }>(`select count(*)::int as n from deliveries where status = 'DELIVERED'`)).rows[0].n;
    }
    const totalMs = Date.now() - restarted;
    const { user, system } = process.cpuUsage(cpu);
    const messages = telegram.callsTo('sendMessage').length;
    console.log(`restart → all delivered  ${(totalMs / 1000).toFixed(2)} s  (up in ${upMs} ms, then ${(count / ((totalMs - upMs) / 1000)).toFixed(0)} deliveries/s; ${delivered}/${count} delivered, ${messages} sendMessage calls)`);
    console.log(`node CPU ${((user + system) / 1000 / count).toFixed(1)} ms per delivery (Recoup and the in-process fake Telegram)`);
    const ok = delivered === count && messages === count && totalMs < 30_000;
    console.log(`target < 30 s, one message each: ${ok ? 'MET' : 'NOT MET'}`);
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
