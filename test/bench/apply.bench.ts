/**
 * Inbox apply throughput: BENCH_EVENTS (100000) stored-but-unapplied Stripe events, seeded by SQL
 * into gateway_events as POST /webhooks/stripe leaves them (due at their receipt, attempts 0), over
 * PENDING payments seeded by SQL; then one wake() of WebhookIntake, timed until it is idle. The mix:
 *   60% successes, one per payment (payment_intent.succeeded and checkout.session.completed, half each)
 *   15% charge.refunded on some of those payments, after their success (half partial, half full)
 *   10% payment_intent.payment_failed (re-read from the fake Stripe, which knows the declined intent)
 *   10% types Recoup ignores (customer.created, charge.succeeded)
 *    5% payout.* (paid, updated, failed)
 * The floor, in the same run: as many single-row UPDATE transactions, one after another as the
 * drain applies, through the app's own Database (same pool, same transaction code). Prints
 * events/s, CPU per event of Recoup's process and of its PostgreSQL backends (/proc, when the
 * server is local), then checks every payment, refund and payout came out as its events say.
 * Target (issue 12): ≥ 2000 events/s. Not a jest test:
 *
 *   tsc -p tsconfig.bench.json && node dist/test/bench/apply.bench.js
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 * BENCH_FLOOR (default BENCH_EVENTS) sets the floor's transactions; BENCH_LOG_LEVEL (silent) shows
 * Recoup's log; BENCH_TRACE=1 counts and times every SQL statement per event. The fake Stripe and
 * Telegram run in a child process: their CPU is reported on its own line. A success's after-commit
 * work (delivery: invite link and message through the fake Telegram) runs in the drain's time too.
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { startApp, type RecoupApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { systemActor } from '../../src/platform/database/transaction';
import { createLogger } from '../../src/platform/observability/logger';
import { BENCH_BOT_TOKEN, type StripeReply, type StripeRequest } from './apply-fakes.worker';
import { benchDatabase, type Stop, runBench } from './bench-database';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

const EVENTS = envInt('BENCH_EVENTS', 100_000, 100, 2_000_000);
const FLOOR = envInt('BENCH_FLOOR', EVENTS, 0, 2_000_000);
const TARGET = 2000;
const AMOUNT = 2500;
const PARTIAL = 1000;

type Kind = 'intentSucceeded' | 'checkoutCompleted' | 'refundPartial' | 'refundFull' | 'failed' | 'ignored' | 'payout';
interface Planned { kind: Kind; payment: number; n: number }

/** A deterministic shuffle (mulberry32), so every run applies the same stream. */
function shuffle<T>(items: T[], seed = 12): T[] {
  let s = seed;
  const random = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** The stream: payment k < successes gets a success; refunds go to the first ones, always after their success. */
function plan(total: number): { stream: Planned[]; successes: number; refunds: number; failures: number; payouts: number } {
  const refunds = Math.round(total * 0.15);
  const failures = Math.round(total * 0.1);
  const ignored = Math.round(total * 0.1);
  const payouts = Math.round(total * 0.05);
  const successes = total - refunds - failures - ignored - payouts;
  const stream: Planned[] = [];
  for (let k = 0; k < successes; k++) stream.push({ kind: k % 2 ? 'checkoutCompleted' : 'intentSucceeded', payment: k, n: 0 });
  for (let k = 0; k < refunds; k++) stream.push({ kind: k % 2 ? 'refundFull' : 'refundPartial', payment: k, n: 0 });
  for (let k = 0; k < failures; k++) stream.push({ kind: 'failed', payment: successes + k, n: 0 });
  for (let k = 0; k < ignored; k++) stream.push({ kind: 'ignored', payment: -1, n: k });
  for (let k = 0; k < payouts; k++) stream.push({ kind: 'payout', payment: -1, n: k });
  shuffle(stream);
  // A refund that landed before its payment's success changes places with it.
  const successAt = new Map<number, number>();
  stream.forEach((e, i) => (e.kind === 'intentSucceeded' || e.kind === 'checkoutCompleted') && successAt.set(e.payment, i));
  stream.forEach((e, i) => {
    if (e.kind !== 'refundPartial' && e.kind !== 'refundFull') return;
    const s = successAt.get(e.payment)!;
    if (s > i) {
      [stream[i], stream[s]] = [stream[s], stream[i]];
      successAt.set(e.payment, i);
    }
  });
  return { stream, successes, refunds, failures, payouts };
}

function envelope(id: string, type: string, object: Record<string, unknown>, created: number): Record<string, unknown> {
  return { id, object: 'event', api_version: '2025-03-31.basil', created, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object } };
}

/** The event body Stripe would send for one planned event (the failures come from the fake, which must know the intent). */
function eventFor(e: Planned, i: number, paymentIds: string[], declines: Map<number, Record<string, unknown>>, created: number): Record<string, unknown> {
  const paymentId = paymentIds[e.payment];
  const pi = `pi_bench_${e.payment}`;
  const ch = `ch_bench_${e.payment}`;
  const intent = { id: pi, object: 'payment_intent', amount: AMOUNT, amount_received: AMOUNT, currency: 'usd', status: 'succeeded', capture_method: 'automatic', customer: `cus_bench_${e.payment}`, payment_method: `pm_bench_${e.payment}`, latest_charge: ch, last_payment_error: null, metadata: { paymentId }, created };
  switch (e.kind) {
    case 'intentSucceeded':
      return envelope(`evt_bench_${i}`, 'payment_intent.succeeded', intent, created);
    case 'checkoutCompleted':
      return envelope(`evt_bench_${i}`, 'checkout.session.completed', {
        id: `cs_bench_${e.payment}`, object: 'checkout.session', mode: 'payment', status: 'complete', payment_status: 'paid', amount_total: AMOUNT, currency: 'usd',
        payment_intent: pi, client_reference_id: paymentId, metadata: { paymentId }, expires_at: created + 86_400, url: null, created,
      }, created);
    case 'refundPartial':
    case 'refundFull': {
      const refunded = e.kind === 'refundFull' ? AMOUNT : PARTIAL;
      return envelope(`evt_bench_${i}`, 'charge.refunded', {
        id: ch, object: 'charge', amount: AMOUNT, amount_captured: AMOUNT, amount_refunded: refunded, currency: 'usd', captured: true, refunded: refunded === AMOUNT, disputed: false,
        paid: true, status: 'succeeded', payment_intent: pi, metadata: { paymentId }, created,
      }, created);
    }
    case 'failed': {
      const event = declines.get(e.payment)!;
      return { ...event, id: `evt_bench_${i}`, created };
    }
    case 'ignored':
      return e.n % 2
        ? envelope(`evt_bench_${i}`, 'charge.succeeded', { id: `ch_other_${e.n}`, object: 'charge', amount: AMOUNT, currency: 'usd', captured: true, paid: true, status: 'succeeded', metadata: {}, created }, created)
        : envelope(`evt_bench_${i}`, 'customer.created', { id: `cus_other_${e.n}`, object: 'customer', email: `other${e.n}@example.com`, name: `Other ${e.n}`, metadata: {}, created }, created);
    case 'payout': {
      const status = e.n % 10 === 0 ? 'failed' : e.n % 3 === 0 ? 'in_transit' : 'paid';
      const type = status === 'failed' ? 'payout.failed' : status === 'in_transit' ? 'payout.updated' : 'payout.paid';
      return envelope(`evt_bench_${i}`, type, {
        id: `po_bench_${e.n}`, object: 'payout', amount: 100_000 + e.n, currency: 'usd', status, arrival_date: created + 86_400 * 2, created,
        failure_code: status === 'failed' ? 'account_closed' : null, failure_message: status === 'failed' ? 'The bank account has been closed.' : null, method: 'standard', type: 'bank',
      }, created);
    }
  }
}

/**
 * BENCH_TRACE=1: every statement any pg client of this process sends (Recoup's pool included) is
 * counted and timed by its text, numbers and ids masked; printed per applied event after the run.
 */
function traceStatements(): { reset(): void; print(units: number): void } {
  const stats = new Map<string, { n: number; ms: number }>();
  // MikroORM's driver may bring its own copy of pg.
  const copies = new Set([require.resolve('pg'), require.resolve('pg', { paths: [require.resolve('@mikro-orm/postgresql')] })]);
  for (const copy of copies) {
    const { Client } = require(copy) as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
    const original = Client.prototype.query;
    Client.prototype.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0] as string | { text?: string } | undefined;
      const text = typeof config === 'string' ? config : (config?.text ?? '?');
      const key = text.replace(/\s+/g, ' ').replace(/'[^']*'|\b\d+\b/g, '…').slice(0, 110);
      const started = process.hrtime.bigint();
      const done = () => {
        const entry = stats.get(key) ?? { n: 0, ms: 0 };
        entry.n++;
        entry.ms += Number(process.hrtime.bigint() - started) / 1e6;
        stats.set(key, entry);
      };
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last] as (...a: unknown[]) => void;
        args[last] = (...a: unknown[]) => {
          done();
          callback(...a);
        };
      }
      const result = original.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(done, done);
      return result;
    };
  }
  return {
    reset: () => stats.clear(),
    print(units) {
      const all = [...stats.values()].reduce((a, b) => ({ n: a.n + b.n, ms: a.ms + b.ms }), { n: 0, ms: 0 });
      console.log(`trace   ${(all.n / units).toFixed(1)} statements per event, ${(all.ms / units).toFixed(2)} ms waiting on them per event; the top ones:`);
      for (const [key, { n, ms }] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
        console.log(`trace   ${(n / units).toFixed(2).padStart(6)}/event ${(ms / n).toFixed(2).padStart(6)} ms  ${key}`);
      }
    },
  };
}

class StripeProcess {
  private constructor(private readonly child: ChildProcess, readonly url: string, readonly telegramUrl: string) {}

  static async start(): Promise<StripeProcess> {
    const child = fork(join(__dirname, 'apply-fakes.worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const reply = await new Promise<StripeReply>((resolve, reject) => child.once('message', (m) => resolve(m as StripeReply)).once('error', reject));
    if (reply.kind !== 'ready') throw new Error('fake Stripe did not start');
    return new StripeProcess(child, reply.url, reply.telegramUrl);
  }

  ask<K extends StripeReply['kind']>(request: StripeRequest, kind: K): Promise<Extract<StripeReply, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: StripeReply) => {
        if (m.kind !== kind) return;
        this.child.off('message', onMessage);
        resolve(m as Extract<StripeReply, { kind: K }>);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code) => reject(new Error(`fake Stripe exited with ${code}`)));
      this.child.send(request);
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ kind: 'stop' } satisfies StripeRequest);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    this.child.kill();
  }
}

/**
 * CPU of the database's backends, read from /proc (the server must be on this machine and its
 * processes readable). Sampled as the run goes, so a backend that exits keeps what it had used.
 */
class BackendCpu {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly tick = 100; // USER_HZ on Linux
  available = true;

  constructor(private readonly pool: Pool, private readonly database: string) {}

  private static ticks(pid: number): number | null {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch {
      return null;
    }
  }

  async sample(start = false): Promise<void> {
    if (!this.available) return;
    const { rows } = await this.pool.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [this.database]);
    for (const { pid } of rows) {
      const ticks = BackendCpu.ticks(pid);
      if (ticks === null) {
        this.available = false;
        return;
      }
      if (!this.first.has(pid)) this.first.set(pid, start ? ticks : 0);
      this.last.set(pid, ticks);
    }
  }

  /** Milliseconds of CPU since the start sample. */
  ms(): number {
    let sum = 0;
    for (const [pid, last] of this.last) sum += last - (this.first.get(pid) ?? 0);
    return (sum * 1000) / this.tick;
  }
}

interface Measured { seconds: number; cpuMs: number; pgMs: number | null }

async function measure(pool: Pool, database: string, work: (progress: () => Promise<void>) => Promise<void>): Promise<Measured> {
  const pg = new BackendCpu(pool, database);
  await pg.sample(true);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await work(() => pg.sample());
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  await pg.sample();
  return { seconds, cpuMs: (user + system) / 1000, pgMs: pg.available ? pg.ms() : null };
}

function line(label: string, units: number, m: Measured): string {
  const pg = m.pgMs === null ? 'PostgreSQL CPU not measured' : `PostgreSQL ${(m.pgMs / units).toFixed(3)} ms CPU/unit`;
  return `${label.padEnd(8)} ${(units / m.seconds).toFixed(0).padStart(6)} /s  ${(m.seconds).toFixed(1).padStart(6)} s for ${units}  Recoup process ${(m.cpuMs / units).toFixed(3)} ms CPU/unit  ${pg}`;
}

async function seedPayments(app: RecoupApp, pool: Pool, count: number): Promise<string[]> {
  const actor = systemActor('bench');
  const { catalog } = app.services;
  const channel = await catalog.saveChannel(actor, null, { telegramChatId: '-1009000000002', title: 'Bench channel' });
  const bundle = await catalog.saveBundle(actor, null, { name: 'Bench bundle', channelIds: [channel.id] });
  const plan = await catalog.savePlan(actor, null, { bundleId: bundle.id, name: 'Bench monthly', amountMinor: AMOUNT, currency: 'usd', durationDays: 30 });
  // Ordered by n, so payment k is the k-th id; checkout payments (odd k) carry their session id as a checkout would leave it.
  const { rows } = await pool.query<{ id: string }>(
    `with c as (
       insert into customers (id, name, email)
       select gen_random_uuid(), 'Bench Buyer ' || n, 'apply' || n || '@example.com' from generate_series(0, $3::int - 1) as n
       returning id, name)
     , p as (
       insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, capture_mode, stripe_checkout_session_id)
       select gen_random_uuid(), c.id, $1, $2, ${AMOUNT}, 'usd', 'PENDING', 'AUTOMATIC',
              case when split_part(c.name, ' ', 3)::int % 2 = 1 then 'cs_bench_' || split_part(c.name, ' ', 3) end
         from c
       returning id, customer_id)
     select p.id from p join c on c.id = p.customer_id order by split_part(c.name, ' ', 3)::int`,
    [plan.id, bundle.id, count],
  );
  return rows.map((r) => r.id);
}

async function seedEvents(pool: Pool, stream: Planned[], paymentIds: string[], declines: Map<number, Record<string, unknown>>): Promise<void> {
  // Received one millisecond apart, the last just now; due at receipt, as POST /webhooks/stripe stores them.
  const base = Date.now() - stream.length;
  const CHUNK = 2000;
  for (let from = 0; from < stream.length; from += CHUNK) {
    const rows = stream.slice(from, from + CHUNK).map((e, j) => {
      const i = from + j;
      const event = eventFor(e, i, paymentIds, declines, Math.floor((base + i) / 1000));
      return { event_id: event.id, type: event.type, payload: event, at: new Date(base + i).toISOString() };
    });
    await pool.query(
      `insert into gateway_events (id, gateway, event_id, type, payload, received_at, attempts, next_attempt_at, created_at, updated_at)
       select gen_random_uuid(), 'stripe', x.event_id, x.type, x.payload, x.at, 0, x.at, x.at, x.at
         from jsonb_to_recordset($1::jsonb) as x(event_id text, type text, payload jsonb, at timestamptz)`,
      [JSON.stringify(rows)],
    );
  }
}

async function check(pool: Pool, p: ReturnType<typeof plan>): Promise<boolean> {
  const q = async (sql: string, params: unknown[] = []) => Number((await pool.query<{ n: string }>(sql, params)).rows[0].n);
  const half = (n: number, odd: boolean) => (odd ? Math.floor(n / 2) : Math.ceil(n / 2));
  const fullRefunds = half(p.refunds, true);
  const partialRefunds = half(p.refunds, false);
  const checks: Array<[string, number, number]> = [
    ['events not applied', await q('select count(*) as n from gateway_events where processed_at is null'), 0],
    ['events with an error or a second attempt', await q('select count(*) as n from gateway_events where last_error is not null or attempts <> 1'), 0],
    ['payments SUCCEEDED (success, no or partial refund)', await q(`select count(*) as n from payments where status = 'SUCCEEDED'`), p.successes - fullRefunds],
    ['  of which partly refunded (refunded_minor = 1000)', await q(`select count(*) as n from payments where status = 'SUCCEEDED' and refunded_minor = ${PARTIAL}`), partialRefunds],
    ['payments REFUNDED (refunded_minor = 2500)', await q(`select count(*) as n from payments where status = 'REFUNDED' and refunded_minor = ${AMOUNT}`), fullRefunds],
    ['payments FAILED', await q(`select count(*) as n from payments where status = 'FAILED'`), p.failures],
    ['payments still PENDING', await q(`select count(*) as n from payments where status = 'PENDING'`), 0],
    ['payouts recorded', await q('select count(*) as n from payouts'), p.payouts],
    ['payment-failed alerts', await q(`select count(*) as n from alerts where type = 'PAYMENT_FAILED'`), p.failures],
  ];
  let ok = true;
  for (const [label, got, want] of checks) {
    const good = got === want;
    ok &&= good;
    console.log(`check   ${label.padEnd(52)} ${String(got).padStart(7)}  expected ${String(want).padStart(7)}  ${good ? 'OK' : 'MISMATCH'}`);
  }
  const outcomes = await pool.query<{ outcome: string; n: number }>(
    `select regexp_replace(outcome, '(pay(ment|out)|session|intent|charge) [^ ]+|[0-9]+', '…', 'g') as outcome, count(*)::int as n from gateway_events group by 1 order by 2 desc limit 12`,
  );
  for (const { outcome, n } of outcomes.rows) console.log(`outcome ${String(n).padStart(7)}  ${outcome}`);
  return ok;
}

async function main(): Promise<number> {
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    const stripe = await StripeProcess.start();
    cleanups.unshift(() => stripe.stop());
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      DATABASE_URL: database.url,
      STRIPE_SECRET_KEY: 'sk_test_bench',
      STRIPE_WEBHOOK_SECRET: 'whsec_bench_recoup_apply',
      STRIPE_API_URL: stripe.url,
      TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
      TELEGRAM_API_URL: stripe.telegramUrl,
      TELEGRAM_UPDATES_MODE: 'off',
      AUTH_JWT_SECRET: 'bench-secret-that-is-at-least-32-characters',
      ...(process.env.DATABASE_POOL_MAX ? { DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX } : {}),
      ...(process.env.INBOX_BATCH_SIZE ? { INBOX_BATCH_SIZE: process.env.INBOX_BATCH_SIZE } : {}),
    });
    const app = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    const { intake, db } = app.services;
    await intake.whenIdle(); // the start-up drain, over an empty table
    const pool = new Pool({ connectionString: database.url, max: 4 });
    cleanups.unshift(() => pool.end());
    const dbName = new URL(database.url).pathname.slice(1);

    const seedStarted = Date.now();
    const p = plan(EVENTS);
    const paymentIds = await seedPayments(app, pool, p.successes + p.failures);
    const failedPayments = Array.from({ length: p.failures }, (_, k) => p.successes + k);
    const { events } = await stripe.ask({ kind: 'declines', paymentIds: failedPayments.map((k) => paymentIds[k]) }, 'declines');
    const declines = new Map(failedPayments.map((k, j) => [k, events[j]]));
    await seedEvents(pool, p.stream, paymentIds, declines);
    await pool.query('create table bench_floor (id int primary key, hits int not null default 0); insert into bench_floor (id) select generate_series(1, 1000)');
    // A live table has planner statistics; a bulk insert leaves none until autovacuum gets to it.
    await pool.query('analyze customers; analyze payments; analyze gateway_events; analyze bench_floor');
    console.log(
      `apply bench: ${EVENTS} stored events (${p.successes} successes, ${p.refunds} refunds, ${p.failures} payment_failed re-read from the fake Stripe, ` +
        `${Math.round(EVENTS * 0.1)} ignored, ${p.payouts} payouts) seeded in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s; ` +
        `batch ${config.jobs.inboxBatchSize}, pool ${config.databasePoolMax}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );

    const trace = process.env.BENCH_TRACE === '1' ? traceStatements() : null;
    const stripeBefore = await stripe.ask({ kind: 'cpu' }, 'cpu');
    const applied = await measure(pool, dbName, async (progress) => {
      const timer = setInterval(() => void progress().catch(() => {}), 2000);
      try {
        intake.wake();
        await intake.whenIdle();
      } finally {
        clearInterval(timer);
      }
    });
    const stripeAfter = await stripe.ask({ kind: 'cpu' }, 'cpu');
    trace?.print(EVENTS);

    const floor = await measure(pool, dbName, async (progress) => {
      for (let i = 0; i < FLOOR; i++) {
        await db.transaction((tx) => tx.em.execute('update bench_floor set hits = hits + 1 where id = ?', [(i % 1000) + 1]));
        if (i % 5000 === 0) await progress();
      }
    });

    console.log(line('apply', EVENTS, applied));
    if (FLOOR > 0) {
      console.log(line('floor', FLOOR, floor));
      console.log(`ratio   apply/floor  per-unit time ${(applied.seconds / EVENTS / (floor.seconds / FLOOR)).toFixed(1)}×  Recoup CPU ${(applied.cpuMs / EVENTS / (floor.cpuMs / FLOOR)).toFixed(1)}×`);
    }
    const stripeCpuMs = (stripeAfter.user + stripeAfter.system - stripeBefore.user - stripeBefore.system) / 1000;
    console.log(`fakes   fake Stripe + Telegram process ${stripeCpuMs.toFixed(0)} ms CPU for ${stripeAfter.retrieves - stripeBefore.retrieves} intent reads and ${stripeAfter.telegramCalls - stripeBefore.telegramCalls} Telegram calls (not counted above)`);
    const perSecond = EVENTS / applied.seconds;
    console.log(`target ≥ ${TARGET} events/s: ${perSecond >= TARGET ? 'MET' : 'NOT MET'} (${perSecond.toFixed(0)}); load now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const ok = await check(pool, p);
    console.log(`correctness: ${ok ? 'OK' : 'MISMATCH'}`);
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
