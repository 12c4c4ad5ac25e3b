/**
 * Subscription fan-out: FANOUT_SUBSCRIBERS (1,000) graphql-ws clients, each on its own WebSocket,
 * subscribed to `alertRaised`; FANOUT_ALERTS (100) new alerts are raised through the service, one
 * every FANOUT_INTERVAL_MS (100, i.e. 10 alerts/s; 0 = closed loop: each alert once the one before it has reached every
 * subscriber, i.e. the fan-out of one alert at a time). Prints p50/p95/p99/max from
 * the raise to its receipt at the LAST subscriber (target p99 < 100 ms), how many of the
 * alerts × subscribers deliveries arrived, and the server's memory before the subscribers connect,
 * once they are all subscribed, and after the alerts. Not a jest test:
 *
 *   npm run bench:fanout        (tsc -p tsconfig.bench.json && node dist/test/bench/fanout.bench.js)
 *
 * Recoup runs alone in this process; the subscribers run in a forked child process
 * (fanout-subscribers.worker), so on a 2-CPU machine each side has a CPU of its own. Raise times
 * are taken here immediately before raiseNow(), receipt times in the child, both as
 * performance.timeOrigin + performance.now() (one machine clock).
 *
 * DATABASE_URL: a PostgreSQL server to create a throw-away database on; else an embedded one.
 * FANOUT_CONNECT_BATCH (100): sockets opened at a time. FANOUT_WAIT_MS (30000): how long to wait
 * for stragglers after the last raise. FANOUT_TRACE_SENDS (1): also time, in this process, each
 * alert's last ws.send() (wraps ws's WebSocket#send; 0 turns it off). FANOUT_CPU_PROFILE=<file>:
 * write a .cpuprofile of this process while the alerts are raised and delivered.
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { startApp, type RecoupApp } from '../../src/app/app';
import { resolveLogFormat } from '../../src/platform/config';
import { createLogger } from '../../src/platform/observability/logger';
import { benchConfig, envInt, percentile } from './delivery.bench';
import { benchDatabase, type Stop, runBench } from './bench-database';
import type { FanoutFromWorker, FanoutToWorker } from './fanout-subscribers.worker';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A full collection, so that heapUsed shows what is live rather than what the last GC left. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

interface MemorySample {
  label: string;
  rss: number;
  heapUsed: number;
  heapUsedAfterGc: number;
}

function memory(label: string): MemorySample {
  const { rss, heapUsed } = process.memoryUsage();
  collectGarbage();
  return { label, rss, heapUsed, heapUsedAfterGc: process.memoryUsage().heapUsed };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1).padStart(6)} MB`;

/** The child's messages, each kind awaitable; `complete` messages also land in `completed`. */
class Subscribers {
  readonly completed = new Map<string, number>();
  private readonly waiting: Array<{ kind: FanoutFromWorker['kind']; title?: string; resolve: (m: FanoutFromWorker) => void }> = [];
  private failure: Error | null = null;

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: FanoutFromWorker) => {
      if (message.kind === 'complete') this.completed.set(message.title, now());
      if (message.kind === 'failed') this.fail(new Error(`subscriber process failed: ${message.error}`));
      for (const waiter of [...this.waiting]) {
        if (waiter.kind === message.kind && (waiter.title === undefined || (message.kind === 'complete' && message.title === waiter.title))) {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
    child.on('exit', (code, signal) => this.fail(new Error(`subscriber process exited (${code ?? signal})`)));
  }

  private fail(error: Error) {
    this.failure ??= error;
  }

  send(message: FanoutToWorker): void {
    this.child.send(message);
  }

  /** The next message of this kind (for `complete`, of this title), or null after timeoutMs. */
  async next<K extends FanoutFromWorker['kind']>(kind: K, timeoutMs: number, title?: string): Promise<Extract<FanoutFromWorker, { kind: K }> | null> {
    if (this.failure) throw this.failure;
    if (kind === 'complete' && title !== undefined && this.completed.has(title)) return { kind: 'complete', title } as Extract<FanoutFromWorker, { kind: K }>;
    let waiter: (typeof this.waiting)[number] | undefined;
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const result = await new Promise<FanoutFromWorker | null>((resolve) => {
      waiter = { kind, title, resolve };
      this.waiting.push(waiter);
      timer = setTimeout(() => resolve(null), timeoutMs);
      poll = setInterval(() => this.failure && resolve(null), 50);
    });
    clearTimeout(timer);
    clearInterval(poll);
    if (waiter && this.waiting.includes(waiter)) this.waiting.splice(this.waiting.indexOf(waiter), 1);
    if (this.failure) throw this.failure;
    return result as Extract<FanoutFromWorker, { kind: K }> | null;
  }
}

/**
 * Times, in the server process, each alert's first and last ws.send() to a subscriber, by wrapping
 * ws's WebSocket#send (the server's sockets are the only ones in this process). A diagnostic: it
 * separates the server's fan-out from the time the subscriber process takes to read the frames.
 */
function traceSends(prefix: string): { first: Map<string, number>; last: Map<string, number>; count: Map<string, number>; restore(): void } {
  const proto = WebSocket.prototype as unknown as { send: (data: unknown, ...rest: unknown[]) => void };
  const original = proto.send;
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const count = new Map<string, number>();
  const marker = `"title":"${prefix}`;
  proto.send = function (this: unknown, data: unknown, ...rest: unknown[]) {
    if (typeof data === 'string') {
      const at = data.indexOf(marker);
      if (at >= 0) {
        const start = at + '"title":"'.length;
        const title = data.slice(start, data.indexOf('"', start));
        const t = now();
        if (!first.has(title)) first.set(title, t);
        last.set(title, t);
        count.set(title, (count.get(title) ?? 0) + 1);
      }
    }
    return original.call(this, data, ...rest);
  };
  return { first, last, count, restore: () => void (proto.send = original) };
}

function stats(values: number[]): { p50: number; p95: number; p99: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: percentile(sorted, 1), n: sorted.length };
}

const ms = (value: number) => `${Number.isFinite(value) ? value.toFixed(1) : '—'}`.padStart(7);
const line = (label: string, values: number[]) => {
  const s = stats(values);
  return `${label.padEnd(42)} p50 ${ms(s.p50)} ms  p95 ${ms(s.p95)} ms  p99 ${ms(s.p99)} ms  max ${ms(s.max)} ms  (n=${s.n})`;
};

async function main(): Promise<number> {
  const subscriberCount = envInt('FANOUT_SUBSCRIBERS', 1000, 1, 20_000);
  const alertCount = envInt('FANOUT_ALERTS', 100, 1, 100_000);
  const intervalMs = envInt('FANOUT_INTERVAL_MS', 100, 0, 60_000);
  const connectBatch = envInt('FANOUT_CONNECT_BATCH', 100, 1, 20_000);
  const waitMs = envInt('FANOUT_WAIT_MS', 30_000, 100, 600_000);
  const trace = process.env.FANOUT_TRACE_SENDS !== '0';
  const profilePath = process.env.FANOUT_CPU_PROFILE;
  const run = randomBytes(3).toString('hex');
  const prefix = `fanout-${run}-`;
  const cleanups: Stop[] = [];
  try {
    const database = await benchDatabase();
    cleanups.unshift(database.stop);
    // No Telegram or Stripe traffic here: alerts only. The scheduler stays off (no job polling in the loop).
    const config = benchConfig(database.url, 'http://127.0.0.1:9');
    const app: RecoupApp = await startApp({ config, databaseUrl: database.url, logger: createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: false });
    cleanups.unshift(() => app.stop());
    const token = await new SignJWT({ role: 'VIEWER' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('fanout-bench-dashboard')
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(config.auth.jwtSecret!));
    const raise = (title: string) =>
      app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity: AlertSeverity.HIGH, title, detail: 'card_declined: the bench raised it', fingerprint: title });

    const samples: MemorySample[] = [memory('before subscribers connect')];

    // The subscribers: a process of their own, without this process's profiling flags.
    const child = fork(require.resolve('./fanout-subscribers.worker'), [], {
      execArgv: process.execArgv.filter((arg) => !/^--(cpu-prof|heap-prof|prof|inspect)/.test(arg)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const subscribers = new Subscribers(child);
    cleanups.unshift(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ kind: 'stop' } satisfies FanoutToWorker);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    });
    console.log(`fanout bench: ${subscriberCount} graphql-ws subscribers (one socket each, in a child process), ${alertCount} alerts, ${os.cpus().length} CPUs (load average ${os.loadavg()[0].toFixed(2)}), node ${process.version}`);

    subscribers.send({ kind: 'start', wsUrl: `${app.url.replace('http', 'ws')}/graphql`, token, subscribers: subscriberCount, connectBatch });
    const subscribed = await subscribers.next('subscribed', 120_000);
    if (!subscribed) throw new Error('the subscribers did not all connect within 120 s');

    // connection_ack does not mean the subscription is registered yet: raise warm-up alerts until
    // one reaches every subscriber, then every subscriber has a live subscription.
    const warmupStarted = now();
    let warmups = 0;
    const warm = () => [...subscribers.completed.keys()].some((title) => title.startsWith(`${prefix}warmup-`));
    while (!warm()) {
      if (warmups === 30) throw new Error('no warm-up alert reached every subscriber');
      const title = `${prefix}warmup-${warmups++}`;
      await raise(title);
      await subscribers.next('complete', 3000, title);
    }
    console.log(`connected and subscribed in ${(subscribed.ms / 1000).toFixed(2)} s (batches of ${connectBatch}); ${warmups} warm-up alert(s) until all had a live subscription (${(now() - warmupStarted).toFixed(0)} ms)`);
    samples.push(memory(`after ${subscriberCount} subscribed`));

    const titles = Array.from({ length: alertCount }, (_, n) => `${prefix}alert-${String(n).padStart(5, '0')}`);
    const raisedAt: number[] = [];
    const returnedAt: number[] = [];
    const sends = trace ? traceSends(prefix) : null;
    const profiler = profilePath ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
      await profiler.post('Profiler.start');
    }
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();

    const raises: Array<Promise<unknown>> = [];
    const start = now() + 10;
    for (let n = 0; n < alertCount; n++) {
      if (intervalMs > 0) await sleep(start + n * intervalMs - now());
      raisedAt[n] = now();
      raises.push(raise(titles[n]).then(() => (returnedAt[n] = now())));
      // Closed loop: the next alert only once this one has reached every subscriber.
      if (intervalMs === 0 && !(await subscribers.next('complete', waitMs, titles[n]))) break;
    }
    await Promise.all(raises);
    const lastRaised = now();
    const deadline = lastRaised + waitMs;
    for (const title of titles) if (!(await subscribers.next('complete', Math.max(1, deadline - now()), title))) break;

    const busy = performance.eventLoopUtilization(elu);
    const { user, system } = process.cpuUsage(cpu);
    loopDelay.disable();
    sends?.restore();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(profilePath!, JSON.stringify(profile));
      profiler.disconnect();
    }
    samples.push(memory(`after ${alertCount} alerts`));

    subscribers.send({ kind: 'report', titles });
    const report = await subscribers.next('report', 30_000);
    if (!report) throw new Error('the subscriber process did not report');

    const lastLatency: number[] = [];
    const firstLatency: number[] = [];
    const all: number[] = [];
    let received = 0;
    titles.forEach((title, n) => {
      const times = report.receipts[title].filter((t): t is number => t !== null);
      received += times.length;
      for (const t of times) all.push(t - raisedAt[n]);
      if (times.length > 0) firstLatency.push(Math.min(...times) - raisedAt[n]);
      if (times.length === subscriberCount) lastLatency.push(Math.max(...times) - raisedAt[n]);
    });
    const expected = alertCount * subscriberCount;
    const pacing = intervalMs > 0
      ? `one raise every ${intervalMs} ms, open loop (a raise waits for nothing before it)`
      : 'closed loop (each raise once the alert before it had reached every subscriber)';

    console.log(`pacing: ${pacing}; raising took ${((lastRaised - start) / 1000).toFixed(2)} s`);
    console.log(line('raise → received by the LAST subscriber', lastLatency));
    console.log(line('raise → received by the first subscriber', firstLatency));
    console.log(line('raise → received, every delivery', all));
    console.log(line('raise → raiseNow() returned (commit, publish)', returnedAt.map((t, n) => t - raisedAt[n])));
    if (sends) {
      console.log(line('server: raise → first ws.send()', titles.flatMap((t, n) => (sends.first.has(t) ? [sends.first.get(t)! - raisedAt[n]] : []))));
      console.log(line('server: raise → last ws.send()', titles.flatMap((t, n) => (sends.last.has(t) ? [sends.last.get(t)! - raisedAt[n]] : []))));
      console.log(line('server: first → last ws.send() of an alert', titles.flatMap((t) => (sends.last.has(t) ? [sends.last.get(t)! - sends.first.get(t)!] : []))));
    }
    console.log(`deliveries: ${received}/${expected} arrived (${lastLatency.length}/${alertCount} alerts reached all ${subscriberCount}), ${report.duplicates} duplicates, ${report.errors.length} errors${report.errors.length ? `: ${report.errors.slice(0, 3).join('; ')}` : ''}`);
    console.log(`server during the alerts: event loop ${(busy.utilization * 100).toFixed(0)}% busy, CPU ${((user + system) / 1000 / alertCount).toFixed(1)} ms per alert (${((user + system) / 1000 / expected * 1000).toFixed(1)} µs per delivery), loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms max ${(loopDelay.max / 1e6).toFixed(1)} ms`);
    console.log('server memory:                       RSS        heapUsed   heapUsed after a full GC');
    for (const s of samples) console.log(`  ${s.label.padEnd(32)} ${mb(s.rss)}  ${mb(s.heapUsed)}  ${mb(s.heapUsedAfterGc)}`);
    const perSubscriber = (samples[1].heapUsedAfterGc - samples[0].heapUsedAfterGc) / subscriberCount;
    console.log(`  ≈ ${(perSubscriber / 1024).toFixed(1)} KB of heap and ${((samples[1].rss - samples[0].rss) / subscriberCount / 1024).toFixed(1)} KB of RSS per subscriber`);
    if (profilePath) console.log(`CPU profile of the alert phase written to ${profilePath}`);

    const p99 = stats(lastLatency).p99;
    const allArrived = received === expected && report.duplicates === 0 && report.errors.length === 0;
    const ok = allArrived && p99 < 100;
    console.log(`target p99 < 100 ms at the last subscriber, every delivery arrived: ${ok ? 'MET' : 'NOT MET'} (p99 ${p99.toFixed(1)} ms, ${received}/${expected})`);
    return ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

runBench(main);
