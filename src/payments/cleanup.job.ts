import { systemActor } from '../platform/database/transaction';
import type { JobDefinition } from '../platform/jobs/job';
import { CLEANUP_JOB } from './checkout-advice.service';
import type { StaleCleanup } from './stale-cleanup.service';

/** Cron in SCHEDULE_TIMEZONE; pause and resume with setJobEnabled('payments:cleanup-stale', …). */
export function staleCleanupJob(cleanup: StaleCleanup, cron: string): JobDefinition {
  return {
    name: CLEANUP_JOB,
    description: 'Expires pending payments older than the checkout expiry (and their Stripe sessions); retries owed late-payment refunds.',
    schedule: { cron },
    handler: async () => ({ ...(await cleanup.run(systemActor(CLEANUP_JOB), 'job')) }),
  };
}
