import type { Logger } from '../observability/logger';

/** `every`: a human interval ('5 minutes', '30 seconds'); `cron`: evaluated in the scheduler's timezone. */
export type JobSchedule = { every: string } | { cron: string };

export interface JobContext {
  jobName: string;
  logger: Logger;
  startedAt: Date;
}

/**
 * A running handler's lock is renewed every third of `JOB_LOCK_LIFETIME_MS` (30 s); once a run's
 * process dies its lock runs out and another instance may start the job again. Every job must be
 * safe to run twice at once (a blocked event loop misses beats too): claim work with leases or
 * SKIP LOCKED, and a bounded batch per run, letting the next run take the rest.
 */
export interface JobDefinition {
  /** 'gateway-events:retry' */
  name: string;
  description: string;
  /** Omitted: runs only when enqueued (`runNow` / `schedule`). */
  schedule?: JobSchedule;
  /** Also run once right after `start()`. */
  runAtStart?: boolean;
  /** Parallel runs of this job per instance; default 1. */
  concurrency?: number;
  /** Returns a summary (counts) that is logged with the run's end. */
  handler(ctx: JobContext, data?: Record<string, unknown>): Promise<Record<string, unknown> | void>;
}

export function describeSchedule(schedule: JobSchedule | undefined): string | null {
  if (!schedule) return null;
  return 'every' in schedule ? `every ${schedule.every}` : `cron ${schedule.cron}`;
}

export function scheduleInterval(schedule: JobSchedule): string {
  return 'every' in schedule ? schedule.every : schedule.cron;
}
