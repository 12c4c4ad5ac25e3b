import type { Database } from '../platform/database/transaction';
import type { JobOutcome } from '../platform/jobs/job-runner';
import type { Logger } from '../platform/observability/logger';
import { safeErrorMessage } from '../platform/observability/safe-error';
import type { AlertService } from './alert.service';
import { AlertSeverity, AlertType } from './alert.types';

const fingerprintOf = (job: string): string => `${AlertType.JOB_FAILED}:job:${job}`;

/**
 * A scheduled job run that throws raises JOB_FAILED (HIGH): one open alert per job, its occurrences
 * counting the failed runs, until a run of that job succeeds and resolves it (on any instance).
 * A success looks the alert up through the open-fingerprint index first, so the common case (no
 * alert open) costs one index probe per run. Errors here are logged, never the job's failure.
 */
export class JobFailureAlerts {
  constructor(
    private readonly db: Database,
    private readonly alerts: AlertService,
    private readonly logger: Logger,
  ) {}

  async onRun(job: string, outcome: JobOutcome, error?: unknown): Promise<void> {
    try {
      if (outcome === 'failure') await this.raise(job, error);
      else await this.resolve(job);
    } catch (err) {
      this.logger.error({ err, job, outcome }, 'job failure alert not written');
    }
  }

  private async raise(job: string, error: unknown): Promise<void> {
    await this.alerts.raiseNow({
      type: AlertType.JOB_FAILED,
      severity: AlertSeverity.HIGH,
      title: `Job ${job} failed`,
      detail: `The scheduled job ${job} threw: ${safeErrorMessage(error)}. Its work waits for the next run; the alert resolves itself when a run succeeds. See systemHealth.jobs for its schedule and last error.`,
      subjectType: 'job',
      subjectId: job,
      fingerprint: fingerprintOf(job),
    });
  }

  private async resolve(job: string): Promise<void> {
    const fingerprint = fingerprintOf(job);
    const open = await this.db.fork().execute(`select 1 from alerts where fingerprint = ? and resolved_at is null`, [fingerprint]);
    if (open.length === 0) return;
    await this.db.transaction((tx) => this.alerts.resolveByFingerprint(tx, fingerprint, `Job ${job} ran successfully again.`, 'scheduler'));
  }
}
