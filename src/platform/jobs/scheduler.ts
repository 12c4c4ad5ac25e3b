import { hostname } from 'node:os';
import { Agenda, type JobParameters } from 'agenda';
import type { Logger } from '../observability/logger';
import { AppError } from '../shared/errors';
import type { JobDefinition } from './job';
import { createBackend, type BackendConfig, type SchedulerBackend } from './scheduler.backend';
import { createProcessor, RunTracker, trackRuns, type OnJobRun } from './job-runner';
import { releaseWatchdogTimers } from './agenda-watchdog';
import { RunHistory } from './job-history';
import { buildRepeatingJob, intervalMs, syncSchedules } from './schedule-sync';
import { toJobStatus, type JobStatus } from './job-status';
import { JobNotFoundError, SchedulerError } from './scheduler.errors';

export type { JobStatus } from './job-status';
export { JobNotFoundError, SchedulerError } from './scheduler.errors';
export { AGENDA_POSTGRES_TABLES, AGENDA_POSTGRES_TABLE, AGENDA_MONGO_COLLECTION } from './scheduler.backend';

/**
 * A run whose lock has not been renewed for this long counts as crashed and may start again on
 * another instance. Runs renew their lock every third of it (a heartbeat), so a long run keeps it
 * while an instance killed mid-run (kill -9) holds its jobs for at most this long: the inbox,
 * delivery and outbox sweeps of the instances left start again within ~30 s.
 */
export const JOB_LOCK_LIFETIME_MS = 30_000;
/** How long stop() waits for running handlers before closing the connection anyway. */
export const STOP_TIMEOUT_MS = 30_000;

export interface SchedulerOptions {
  backend: BackendConfig;
  timezone: string;
  processEvery: string;
  logger: Logger;
  instanceName?: string;
  onJobRun?: OnJobRun;
  /** Default JOB_LOCK_LIFETIME_MS; tests shorten it. */
  lockLifetimeMs?: number;
}

/** Agenda behind our own contract; every instance on one database shares the stored jobs. */
export class Scheduler {
  readonly backendKind: 'postgres' | 'mongo';
  private readonly backend: SchedulerBackend;
  private readonly agenda: Agenda;
  private readonly logger: Logger;
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly runs = new RunTracker();
  private readonly history: RunHistory;
  private readonly processEveryMs: number;
  private readonly lockLifetimeMs: number;
  private connecting?: Promise<void>;
  private starting?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(private readonly options: SchedulerOptions) {
    this.logger = options.logger.child({ component: 'scheduler' });
    this.backend = createBackend(options.backend, this.logger);
    this.backendKind = this.backend.kind;
    this.lockLifetimeMs = options.lockLifetimeMs ?? JOB_LOCK_LIFETIME_MS;
    this.agenda = new Agenda({
      backend: this.backend.agendaBackend,
      name: options.instanceName ?? `${hostname()}:${process.pid}`,
      defaultLockLifetime: this.lockLifetimeMs,
    });
    const processEveryMs = intervalMs(this.agenda, options.processEvery);
    if (!processEveryMs) throw SchedulerError.invalidInterval('processEvery', options.processEvery);
    this.processEveryMs = processEveryMs;
    this.history = new RunHistory(this.agenda);
    this.watch();
  }

  define(def: JobDefinition): void {
    if (this.starting || this.stopping) throw SchedulerError.definedAfterStart(def.name);
    if (this.definitions.has(def.name)) throw SchedulerError.duplicateDefinition(def.name);
    const concurrency = def.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw SchedulerError.invalidConcurrency(def.name, concurrency);
    if (def.schedule) buildRepeatingJob(this.agenda, def.name, def.schedule, this.options.timezone);
    this.definitions.set(def.name, def);
    // No lockLimit: Agenda refills its queue only on a poll or a NOTIFY, so a limit would leave a
    // runNow that arrives during a run (or a burst of timers) waiting for the next poll.
    this.agenda.define(def.name, createProcessor(def, this.options.logger, this.options.onJobRun, this.lockLifetimeMs / 3), {
      concurrency,
      lockLifetime: this.lockLifetimeMs,
    });
  }

  start(): Promise<void> {
    if (this.stopping) return Promise.reject(SchedulerError.stopped());
    this.starting ??= this.startOnce().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  /** Picked up in ~10 ms on Postgres once this instance has started (before that: at the next poll). */
  async runNow(name: string, data?: Record<string, unknown>): Promise<void> {
    this.definition(name);
    await this.connected();
    await this.agenda.now(name, data);
  }

  async schedule(name: string, when: Date, data?: Record<string, unknown>): Promise<void> {
    this.definition(name);
    if (Number.isNaN(when.getTime())) throw AppError.badInput(`Job ${name}: invalid run time`, { name });
    await this.connected();
    await this.agenda.schedule(when, name, data);
  }

  /**
   * Pauses or resumes the repeating schedule (stored, so it holds across restarts and instances).
   * One-off runs are not affected, and a run already claimed within `processEvery` may still start.
   */
  async setEnabled(name: string, enabled: boolean): Promise<JobStatus> {
    const def = this.definition(name);
    if (!def.schedule) throw SchedulerError.notRepeating(name);
    await this.connected();
    const stored = (await this.storedJobs([name])).find((job) => job.type === 'single');
    if (stored?._id) {
      await (enabled ? this.agenda.enable({ id: stored._id }) : this.agenda.disable({ id: stored._id }));
    } else {
      // No instance has started with this job yet: store the schedule in the requested state.
      const job = buildRepeatingJob(this.agenda, name, def.schedule, this.options.timezone);
      await (enabled ? job : job.disable()).save();
    }
    this.logger.info({ job: name, enabled }, enabled ? 'job resumed' : 'job paused');
    const [status] = await this.statusOf([def]);
    return status!;
  }

  status(): Promise<JobStatus[]> {
    return this.statusOf([...this.definitions.values()]);
  }

  async ping(): Promise<boolean> {
    try {
      await this.backend.ping();
      return true;
    } catch {
      return false;
    }
  }

  private async startOnce(): Promise<void> {
    const defs = [...this.definitions.values()];
    await this.connected();
    await syncSchedules(this.agenda, defs, this.options.timezone, this.logger);
    const pruned = await this.history.pruneAll(defs.map((def) => def.name));
    const processEveryMs = this.pollInterval(defs);
    this.agenda.processEvery(processEveryMs);
    await this.agenda.start();
    if (!releaseWatchdogTimers(this.agenda)) this.logger.warn('Agenda internals changed: stop() may not let the process exit');
    for (const def of defs.filter((d) => d.runAtStart)) await this.agenda.now(def.name);
    this.logger.info({ jobs: defs.length, backend: this.backendKind, processEveryMs, pruned }, 'scheduler started');
  }

  private async stopOnce(): Promise<void> {
    await this.starting?.catch(() => undefined);
    try {
      // Stops polling, closes LISTEN and unlocks claimed runs that have not started yet.
      await this.agenda.stop(false);
      if (!(await this.runs.idle(STOP_TIMEOUT_MS))) {
        this.logger.warn({ running: this.runs.size, lockLifetimeMs: this.lockLifetimeMs }, 'stopped with runs still going');
      }
    } finally {
      await this.backend.close();
      this.logger.info('scheduler stopped');
    }
  }

  /** Repeating runs are claimed by the poll: polling slower than the shortest interval would stretch it. */
  private pollInterval(defs: JobDefinition[]): number {
    const intervals = defs.flatMap((def) =>
      def.schedule && 'every' in def.schedule ? [intervalMs(this.agenda, def.schedule.every) ?? Infinity] : [],
    );
    const ms = Math.min(this.processEveryMs, ...intervals);
    if (ms < this.processEveryMs) this.logger.info({ processEveryMs: ms }, 'polling at the shortest job interval');
    return ms;
  }

  private watch(): void {
    // Agenda swallows its own 'error' events; an unheard one from the LISTEN channel would crash the process.
    this.agenda.on('error', (err) => this.logger.error({ err }, 'scheduler error'));
    this.backend.agendaBackend.notificationChannel?.on('error', (err) => this.logger.warn({ err }, 'job notifications error'));
    trackRuns(this.agenda, this.runs, this.history, this.logger);
  }

  private async statusOf(defs: JobDefinition[]): Promise<JobStatus[]> {
    await this.connected();
    const jobs = await this.storedJobs(defs.map((def) => def.name));
    const now = new Date();
    return defs.map((def) => toJobStatus(def, jobs.filter((job) => job.name === def.name), now, this.lockLifetimeMs));
  }

  // An empty name list would match every stored job.
  private async storedJobs(names: string[]): Promise<JobParameters[]> {
    return names.length === 0 ? [] : (await this.agenda.queryJobs({ names })).jobs;
  }

  private connected(): Promise<void> {
    if (this.stopping) return Promise.reject(SchedulerError.stopped());
    this.connecting ??= this.backend.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private definition(name: string): JobDefinition {
    const def = this.definitions.get(name);
    if (!def) throw new JobNotFoundError(name);
    return def;
  }
}
