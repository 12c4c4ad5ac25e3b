import type { JobParameters } from 'agenda';
import { describeSchedule, type JobDefinition } from './job';

/**
 * One job as stored in the backend, across every instance. `lastError`/`lastErrorAt` are the most
 * recent failure and stay after later successes. Every finished run, failed or not, sets
 * `lastFinishedAt`: when it equals `lastErrorAt` the latest run failed; when later, it recovered.
 */
export interface JobStatus {
  name: string;
  description: string;
  schedule: string | null;
  /** false while the repeating schedule is paused; always true for a job without a schedule. */
  enabled: boolean;
  running: boolean;
  lastRunAt: Date | null;
  lastFinishedAt: Date | null;
  nextRunAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/**
 * Folds every stored document of one job (its repeating schedule plus queued, scheduled and kept
 * finished one-off runs) into one status.
 */
export function toJobStatus(def: JobDefinition, docs: JobParameters[], now: Date, lockLifetimeMs: number): JobStatus {
  const repeating = docs.find((doc) => doc.type === 'single');
  const lastFailure = latestBy(docs, (doc) => doc.failedAt);
  return {
    name: def.name,
    description: def.description,
    schedule: describeSchedule(def.schedule),
    enabled: repeating ? !repeating.disabled : true,
    running: docs.some((doc) => isRunning(doc, now, lockLifetimeMs)),
    lastRunAt: latest(docs.map((doc) => doc.lastRunAt)),
    lastFinishedAt: latest(docs.map((doc) => doc.lastFinishedAt)),
    nextRunAt: earliest(docs.filter((doc) => !doc.disabled).map((doc) => doc.nextRunAt)),
    lastError: lastFailure?.failReason ?? null,
    lastErrorAt: lastFailure?.failedAt ? new Date(lastFailure.failedAt) : null,
  };
}

type MaybeDate = Date | string | null | undefined;

/**
 * Locked and started after its last finish. A claimed run that waits for its time is locked but not
 * started; a lock older than its lifetime belongs to a crashed instance.
 */
function isRunning(doc: JobParameters, now: Date, lockLifetimeMs: number): boolean {
  if (!doc.lockedAt || !doc.lastRunAt || now.getTime() - time(doc.lockedAt) >= lockLifetimeMs) return false;
  return !doc.lastFinishedAt || time(doc.lastRunAt) > time(doc.lastFinishedAt);
}

function time(value: Date | string): number {
  return new Date(value).getTime();
}

function latestBy<T>(items: T[], pick: (item: T) => MaybeDate): T | undefined {
  let best: T | undefined;
  for (const item of items) {
    const value = pick(item);
    if (value && (best === undefined || time(value) > time(pick(best)!))) best = item;
  }
  return best;
}

function latest(values: MaybeDate[]): Date | null {
  return pickTime(values, (a, b) => a > b);
}

function earliest(values: MaybeDate[]): Date | null {
  return pickTime(values, (a, b) => a < b);
}

function pickTime(values: MaybeDate[], better: (a: number, b: number) => boolean): Date | null {
  let best: number | null = null;
  for (const value of values) {
    if (!value) continue;
    const t = time(value);
    if (best === null || better(t, best)) best = t;
  }
  return best === null ? null : new Date(best);
}
