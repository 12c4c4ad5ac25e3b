import type { Agenda, Job, JobWithId } from 'agenda';
import type { Logger } from '../observability/logger';
import type { JobDefinition } from './job';
import type { RunHistory } from './job-history';

export type JobOutcome = 'success' | 'failure';
/** Awaited before the run counts as finished (a failure alert is written before the next run). */
export type OnJobRun = (name: string, outcome: JobOutcome, durationMs: number, error?: unknown) => void | Promise<void>;

/**
 * Wraps a handler for Agenda: logs start and end with the summary, reports the outcome, and
 * rethrows failures as Errors so Agenda stores them as the run's `failReason`.
 */
export function createProcessor(def: JobDefinition, logger: Logger, onJobRun: OnJobRun | undefined, heartbeatMs: number): (job: Job) => Promise<void> {
  return async (job) => {
    const startedAt = new Date();
    const log = logger.child({ job: def.name, jobId: String(job.attrs._id) });
    log.info('job started');
    const heartbeat = new LockHeartbeat(job, heartbeatMs, log);
    try {
      const summary = await def.handler({ jobName: def.name, logger: log, startedAt }, dataOf(job));
      await heartbeat.stop();
      const durationMs = Date.now() - startedAt.getTime();
      log.info({ durationMs, summary: summary ?? {} }, 'job finished');
      await report(onJobRun, def.name, 'success', durationMs, log);
    } catch (error) {
      await heartbeat.stop();
      const durationMs = Date.now() - startedAt.getTime();
      log.error({ err: error, durationMs }, 'job failed');
      await report(onJobRun, def.name, 'failure', durationMs, log, error);
      throw error instanceof Error ? error : new Error(String(error));
    }
  };
}

/**
 * Renews a running job's lock (Agenda's touch) so the lock lifetime can stay short: a run that is
 * alive keeps its lock, a run whose process died loses it a lifetime after its last beat. stop()
 * waits for a beat in flight, which would otherwise land after Agenda's unlock and lock the job again.
 */
class LockHeartbeat {
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(job: Job, everyMs: number, log: Logger) {
    this.timer = setInterval(() => {
      this.inFlight = this.inFlight
        .then(() => job.touch())
        .catch((err: unknown) => log.warn({ err }, 'job lock not renewed; another instance may start this job once its lock runs out'));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }
}

function dataOf(job: Job): Record<string, unknown> | undefined {
  const data: unknown = job.attrs.data;
  const isRecord = typeof data === 'object' && data !== null && !Array.isArray(data);
  return isRecord && Object.keys(data).length > 0 ? (data as Record<string, unknown>) : undefined;
}

// A callback that throws must not turn a successful run into a failed one.
async function report(onJobRun: OnJobRun | undefined, name: string, outcome: JobOutcome, durationMs: number, log: Logger, error?: unknown): Promise<void> {
  try {
    await onJobRun?.(name, outcome, durationMs, error);
  } catch (err) {
    log.warn({ err }, 'onJobRun callback threw');
  }
}

/**
 * Runs started on this instance that have not yet written their result. `stop()` waits for it
 * to empty so a run's final state write reaches the database before the pool closes.
 */
export class RunTracker {
  private readonly active = new Set<string>();
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.active.size;
  }

  begin(id: string): void {
    this.active.add(id);
  }

  end(id: string): void {
    this.active.delete(id);
    if (this.active.size > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves true once nothing runs, or false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/**
 * Follows this instance's runs from Agenda's 'start' to 'complete' (emitted after the result is
 * saved) and prunes finished one-off runs. Runs of other instances are re-emitted with remote = true.
 */
export function trackRuns(agenda: Agenda, runs: RunTracker, history: RunHistory, logger: Logger): void {
  agenda.on('start', (job: JobWithId, remote?: false) => {
    if (!remote) runs.begin(String(job.attrs._id));
  });
  agenda.on('complete', (job: JobWithId, remote?: false) => {
    if (remote) return;
    history
      .finished(job.attrs)
      .catch((err: unknown) => logger.warn({ err, job: job.attrs.name }, 'could not prune finished runs'))
      .finally(() => runs.end(String(job.attrs._id)));
  });
}
