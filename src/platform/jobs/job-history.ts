import { computeJobState, type Agenda, type JobParameters, type JobWithState } from 'agenda';

type Outcome = 'completed' | 'failed';

/**
 * Every `runNow` and `schedule` call leaves a finished one-off document behind; without pruning
 * per-item timers would grow the table without bound. Per job name we keep the newest finished
 * success and the newest failure, which is what `status()` reports.
 */
export class RunHistory {
  private readonly latest = new Map<string, string>();

  constructor(private readonly agenda: Agenda) {}

  /**
   * After a one-off run finished here: drop the previous run with the same outcome that finished
   * here. O(1) per run; runs kept by other instances or before a restart go at the next `pruneAll`.
   */
  async finished(job: JobParameters): Promise<void> {
    if (!isFinishedOneOff(job) || !job._id) return;
    const key = `${job.name}\u0000${outcomeOf(job)}`;
    const previous = this.latest.get(key);
    this.latest.set(key, String(job._id));
    if (previous && previous !== String(job._id)) await this.agenda.cancel({ id: previous });
  }

  /** At start: one pass over the stored runs of these jobs. */
  async pruneAll(names: string[]): Promise<number> {
    const { jobs } = await this.agenda.queryJobs({ names, sort: { lastRunAt: 'desc' } });
    const kept = new Set<string>();
    const stale: string[] = [];
    for (const job of jobs.filter(isFinishedOneOff)) {
      const key = `${job.name}\u0000${outcomeOf(job)}`;
      if (kept.has(key)) stale.push(String(job._id));
      else kept.add(key);
    }
    return stale.length > 0 ? this.agenda.cancel({ ids: stale }) : 0;
  }
}

function isFinishedOneOff(job: JobParameters | JobWithState): boolean {
  return job.type === 'normal' && !job.nextRunAt && !job.lockedAt && !!(job.lastFinishedAt ?? job.failedAt);
}

function outcomeOf(job: JobParameters): Outcome {
  return computeJobState(job) === 'failed' ? 'failed' : 'completed';
}
