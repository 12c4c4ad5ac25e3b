import { isAppError } from '../platform/shared/errors';
import type { JobDefinition } from '../platform/jobs/job';
import type { ReconciliationService } from './reconciliation.service';

export const RECONCILIATION_JOB = 'reconciliation:nightly';

/** Cron in SCHEDULE_TIMEZONE (default 02:00). A run already in progress (on demand) is not doubled. */
export function reconciliationJob(reconciliation: ReconciliationService, cron: string): JobDefinition {
  return {
    name: RECONCILIATION_JOB,
    description: "Checks our payments, payouts and subscriptions against Stripe's lists; replays missed webhooks, releases no-shows, raises and resolves alerts.",
    schedule: { cron },
    handler: async () => {
      try {
        const run = await reconciliation.run('job');
        return { runId: run.id, status: run.status, apiCalls: run.apiCalls, alertsRaised: run.alertsRaised, alertsResolved: run.alertsResolved };
      } catch (error) {
        if (isAppError(error) && error.code === 'CONFLICT') return { skipped: error.message };
        throw error;
      }
    },
  };
}
