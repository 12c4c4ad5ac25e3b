import type { Agenda, Job, JobParameters } from 'agenda';
import type { Logger } from '../observability/logger';
import { describeSchedule, scheduleInterval, type JobDefinition, type JobSchedule } from './job';
import { SchedulerError } from './scheduler.errors';

/**
 * The repeating ('single') job Agenda keeps once per name. The first run comes one interval after
 * it is saved; `runAtStart` is the way to run at once.
 */
export function buildRepeatingJob(agenda: Agenda, name: string, schedule: JobSchedule, timezone: string): Job {
  const job = agenda.create(name);
  job.attrs.type = 'single';
  job.repeatEvery(scheduleInterval(schedule), { timezone, skipImmediate: true });
  if (!job.attrs.nextRunAt) {
    throw SchedulerError.invalidInterval(name, describeSchedule(schedule) ?? '', job.attrs.failReason);
  }
  return job;
}

/** Length of a human interval ('5 seconds') in ms, computed by Agenda itself; null if unreadable. */
export function intervalMs(agenda: Agenda, interval: string): number | null {
  const probe = agenda.create('interval-probe');
  const from = new Date(0);
  probe.attrs.nextRunAt = from;
  probe.repeatEvery(interval, { skipImmediate: true });
  const next = probe.attrs.nextRunAt;
  return next ? next.getTime() - from.getTime() : null;
}

/**
 * Makes the stored repeating jobs match the definitions. A stored schedule that already matches is
 * not written at all: an upsert would reset `disabled` (and on Mongo the run state and lock) of a
 * job another instance may be running. A changed schedule keeps its paused flag.
 */
export async function syncSchedules(agenda: Agenda, defs: JobDefinition[], timezone: string, logger: Logger): Promise<void> {
  const { jobs } = await agenda.queryJobs({ names: defs.map((def) => def.name) });
  const stored = new Map(jobs.filter((job) => job.type === 'single').map((job) => [job.name, job]));
  for (const def of defs) {
    await syncOne(agenda, def, stored.get(def.name), timezone, logger);
  }
}

async function syncOne(
  agenda: Agenda,
  def: JobDefinition,
  stored: JobParameters | undefined,
  timezone: string,
  logger: Logger,
): Promise<void> {
  if (!def.schedule) {
    if (stored?._id) {
      await agenda.cancel({ id: stored._id });
      logger.info({ job: def.name }, 'removed the repeating schedule of a job that no longer has one');
    }
    return;
  }
  const job = buildRepeatingJob(agenda, def.name, def.schedule, timezone);
  if (stored && stored.nextRunAt && sameSchedule(stored, job.attrs)) return;
  if (stored?.disabled) job.disable();
  await saveOnce(job);
  logger.info({ job: def.name, schedule: describeSchedule(def.schedule), enabled: !stored?.disabled }, 'saved the repeating schedule');
}

function sameSchedule(stored: JobParameters, wanted: JobParameters): boolean {
  return String(stored.repeatInterval) === String(wanted.repeatInterval) && (stored.repeatTimezone ?? null) === (wanted.repeatTimezone ?? null);
}

/**
 * On Mongo two instances upserting the same new schedule race on the unique index; the loser's
 * retry then updates the winner's document.
 */
async function saveOnce(job: Job): Promise<void> {
  try {
    await job.save();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 11000) throw error;
    await job.save();
  }
}
