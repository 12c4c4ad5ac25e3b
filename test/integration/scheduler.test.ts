import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { Client } from 'pg';
import pino from 'pino';
import type { JobDefinition } from '../../src/platform/jobs/job';
import { AGENDA_MONGO_COLLECTION, AGENDA_POSTGRES_TABLE, JobNotFoundError, Scheduler, type SchedulerOptions } from '../../src/platform/jobs/scheduler';

// The run's server from test/support/global-setup.ts when it ran, else DATABASE_URL or the local one.
const adminUrl =
  process.env.RECOUP_TEST_SERVER_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `sched_test_${randomBytes(4).toString('hex')}`;
const dbUrl = (() => {
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  return url.toString();
})();

const logLines: Array<Record<string, unknown>> = [];
const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
const runs: Array<{ name: string; outcome: string; durationMs: number }> = [];
const open: Scheduler[] = [];

function newScheduler(overrides: Partial<SchedulerOptions> = {}): Scheduler {
  const scheduler = new Scheduler({
    backend: { kind: 'postgres', connectionString: dbUrl },
    timezone: 'UTC',
    processEvery: '1 minute',
    logger,
    onJobRun: (name, outcome, durationMs) => void runs.push({ name, outcome, durationMs }),
    ...overrides,
  });
  open.push(scheduler);
  return scheduler;
}

function job(name: string, handler: JobDefinition['handler'], extra: Partial<JobDefinition> = {}): JobDefinition {
  return { name, description: `${name} (test)`, handler, ...extra };
}

async function sql<T extends Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function statusOf(scheduler: Scheduler, name: string) {
  return (await scheduler.status()).find((status) => status.name === name)!;
}

beforeAll(async () => {
  await sql(adminUrl, `CREATE DATABASE ${dbName}`);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((scheduler) => scheduler.stop()));
  await sql(dbUrl, `DELETE FROM ${AGENDA_POSTGRES_TABLE}`).catch(() => undefined);
  runs.length = 0;
  logLines.length = 0;
});

afterAll(async () => {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
});

describe('Scheduler on PostgreSQL', () => {
  it('runNow runs the handler within a second through LISTEN/NOTIFY, not the poll', async () => {
    const seen: Array<{ at: number; data?: Record<string, unknown> }> = [];
    const scheduler = newScheduler(); // polls once a minute: only NOTIFY can explain a fast start
    scheduler.define(
      job('test:now', async (_ctx, data) => {
        seen.push({ at: performance.now(), data });
        return { processed: 1 };
      }),
    );
    await scheduler.start();

    const latencies: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const enqueuedAt = performance.now();
      await scheduler.runNow('test:now', { paymentId: `pay_${i}` });
      await waitFor(() => seen.length === i, 1_000);
      latencies.push(seen[i - 1]!.at - enqueuedAt);
    }
    console.log(`runNow → handler start, ms: ${latencies.map((ms) => ms.toFixed(1)).join(', ')}`);

    expect(Math.max(...latencies)).toBeLessThan(1_000);
    expect(seen[0]!.data).toEqual({ paymentId: 'pay_1' });
    await waitFor(() => runs.length === 5);
    expect(runs.every((run) => run.name === 'test:now' && run.outcome === 'success')).toBe(true);
    expect(logLines).toContainEqual(expect.objectContaining({ msg: 'job started', job: 'test:now' }));
    expect(logLines).toContainEqual(expect.objectContaining({ msg: 'job finished', job: 'test:now', summary: { processed: 1 } }));
    // Finished one-off runs are pruned down to the newest one.
    await waitFor(async () => (await sql(dbUrl, `SELECT id FROM ${AGENDA_POSTGRES_TABLE} WHERE name = 'test:now'`)).length === 1);
  });

  it('runs a runAtStart job once right after start()', async () => {
    let calls = 0;
    const scheduler = newScheduler();
    scheduler.define(job('test:at-start', async () => void calls++, { runAtStart: true }));
    await scheduler.start();
    await scheduler.start();
    await waitFor(() => calls === 1, 1_000);
    const status = await waitFor(async () => {
      const current = await statusOf(scheduler, 'test:at-start');
      return current.lastFinishedAt ? current : null;
    });
    expect(status).toMatchObject({ schedule: null, enabled: true, running: false, lastError: null });
  });

  it('shows a failing handler as lastError in status() and reports the failure', async () => {
    const scheduler = newScheduler();
    scheduler.define(job('test:fails', async () => Promise.reject(new Error('gateway unreachable'))));
    await scheduler.start();

    await scheduler.runNow('test:fails');
    const status = await waitFor(async () => {
      const current = await statusOf(scheduler, 'test:fails');
      return current.lastError ? current : null;
    });

    expect(status.lastError).toBe('gateway unreachable');
    expect(status.lastErrorAt).toBeInstanceOf(Date);
    expect(status.running).toBe(false);
    await waitFor(() => runs.length === 1);
    expect(runs[0]).toMatchObject({ name: 'test:fails', outcome: 'failure' });
  });

  it('rejects unknown jobs with a NOT_FOUND JobNotFoundError', async () => {
    const scheduler = newScheduler();
    await expect(scheduler.setEnabled('test:missing', false)).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(scheduler.runNow('test:missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(() => scheduler.define(job('test:x', async () => undefined))).not.toThrow();
    expect(() => scheduler.define(job('test:x', async () => undefined))).toThrow(/already defined/);
  });

  it('pauses a repeating job with setEnabled(false), keeps it paused across a restart, resumes it', async () => {
    let calls = 0;
    const repeating = () => job('test:repeat', async () => void calls++, { schedule: { every: '0.5 seconds' } });
    const first = newScheduler({ processEvery: '5 seconds' });
    first.define(repeating());
    await first.start();
    await waitFor(() => calls >= 2, 3_000);

    const paused = await first.setEnabled('test:repeat', false);
    expect(paused).toMatchObject({ enabled: false, schedule: 'every 0.5 seconds' });
    await sleep(700); // a run claimed before the pause may still start
    const callsWhenPaused = calls;
    await first.stop();

    const second = newScheduler({ processEvery: '5 seconds' });
    second.define(repeating());
    await second.start();
    expect((await statusOf(second, 'test:repeat')).enabled).toBe(false);
    await sleep(1_200);
    expect(calls).toBe(callsWhenPaused);

    expect((await second.setEnabled('test:repeat', true)).enabled).toBe(true);
    await waitFor(() => calls > callsWhenPaused, 2_000);
  });

  it('keeps one schedule per name across two instances and runs runNow exactly once', async () => {
    const handledBy: string[] = [];
    const instances = ['a', 'b'].map((instanceName) => {
      const scheduler = newScheduler({ instanceName });
      scheduler.define(job('test:shared', async () => void handledBy.push(instanceName), { schedule: { every: '1 hour' } }));
      return scheduler;
    });
    await Promise.all(instances.map((scheduler) => scheduler.start()));

    const schedules = await sql(dbUrl, `SELECT id FROM ${AGENDA_POSTGRES_TABLE} WHERE name = $1 AND type = 'single'`, ['test:shared']);
    expect(schedules).toHaveLength(1);

    await instances[0]!.runNow('test:shared');
    await waitFor(() => handledBy.length === 1, 1_000);
    await sleep(300);
    expect(handledBy).toHaveLength(1);
    const seenFromOther = await waitFor(async () => {
      const status = await statusOf(instances[1]!, 'test:shared');
      return status.lastFinishedAt ? status : null;
    });
    expect(seenFromOther.nextRunAt!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it('a run that outlives its lock lifetime keeps its lock by heartbeat: another instance never starts it twice', async () => {
    const started: string[] = [];
    const instances = ['a', 'b'].map((instanceName) => {
      const scheduler = newScheduler({ instanceName, processEvery: '1 second', lockLifetimeMs: 1_200 });
      scheduler.define(job('test:long', async () => {
        started.push(instanceName);
        await sleep(4_000);
      }));
      return scheduler;
    });
    await Promise.all(instances.map((scheduler) => scheduler.start()));
    await instances[0]!.runNow('test:long');
    await waitFor(() => runs.some((run) => run.name === 'test:long'), 8_000);
    expect(started).toHaveLength(1);
    expect(runs.filter((run) => run.name === 'test:long').map((run) => run.outcome)).toEqual(['success']);
  }, 15_000);

  it('a job locked by an instance that died runs on another one once the lock lifetime has passed', async () => {
    const survivor = newScheduler({ instanceName: 'survivor', processEvery: '1 second', lockLifetimeMs: 1_500 });
    let ran = 0;
    survivor.define(job('test:orphaned', async () => void ran++, { schedule: { every: '1 hour' } }));
    await survivor.start();
    // What kill -9 mid-run leaves: the schedule due, locked, and nobody renewing the lock.
    await sql(dbUrl, `UPDATE ${AGENDA_POSTGRES_TABLE} SET locked_at = now(), next_run_at = now() - interval '1 second', last_modified_by = 'dead' WHERE name = $1`, ['test:orphaned']);
    const lockedAt = Date.now();
    await waitFor(() => ran === 1, 6_000);
    expect(Date.now() - lockedAt).toBeGreaterThanOrEqual(1_000); // not before its lock ran out
  }, 15_000);

  it('stop() waits for a running handler, releases its lock and closes every connection', async () => {
    let finished = false;
    const scheduler = newScheduler();
    scheduler.define(job('test:slow', async () => {
      await sleep(300);
      finished = true;
    }));
    await scheduler.start();
    await scheduler.runNow('test:slow');
    await waitFor(async () => (await statusOf(scheduler, 'test:slow')).running);

    const producer = newScheduler(); // never started: still holds a pool after runNow
    producer.define(job('test:slow', async () => undefined));
    await producer.runNow('test:slow');

    await Promise.all([scheduler.stop(), producer.stop()]);
    expect(finished).toBe(true);
    expect(await scheduler.ping()).toBe(false);
    const [row] = await sql(dbUrl, `SELECT locked_at, last_finished_at FROM ${AGENDA_POSTGRES_TABLE} WHERE name = $1 ORDER BY last_run_at NULLS LAST LIMIT 1`, ['test:slow']);
    expect(row).toMatchObject({ locked_at: null, last_finished_at: expect.any(Date) });
    const connections = await sql(adminUrl, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'recoup-scheduler'`, [dbName]);
    expect(connections).toHaveLength(0);
  });
});

const mongoUrl = process.env.AGENDA_MONGO_URL;
(mongoUrl ? describe : describe.skip)('Scheduler on MongoDB', () => {
  const name = `test:mongo-${randomBytes(3).toString('hex')}`;

  afterAll(async () => {
    const client = new MongoClient(mongoUrl!);
    try {
      await client.db().collection(AGENDA_MONGO_COLLECTION).deleteMany({ name });
    } finally {
      await client.close();
    }
  });

  it('runs a job, records a failure and pauses a schedule', async () => {
    let calls = 0;
    const scheduler = newScheduler({ backend: { kind: 'mongo', url: mongoUrl! }, processEvery: '1 second' });
    scheduler.define(job(name, async () => {
      calls++;
      if (calls === 1) throw new Error('first run fails');
    }, { schedule: { every: '1 hour' } }));
    await scheduler.start();
    expect(await scheduler.ping()).toBe(true);

    await scheduler.runNow(name);
    const failed = await waitFor(async () => (await statusOf(scheduler, name)).lastError, 3_000);
    expect(failed).toBe('first run fails');
    await scheduler.runNow(name);
    await waitFor(() => calls === 2, 3_000);
    expect((await scheduler.setEnabled(name, false)).enabled).toBe(false);
    expect((await scheduler.setEnabled(name, true)).enabled).toBe(true);
  });
});
