import type { JobDefinition } from '../platform/jobs/job';
import type { DunningService } from './dunning.service';
import type { RetryProcessor } from './retry-processor';

export const RETRY_PROCESS_JOB = 'retries:process';
export const RENEWALS_JOB = 'retries:renewals';

/** Bounded per run (RETRY_BATCH_SIZE × RETRY_MAX_BATCHES_PER_RUN); the next run takes the rest. */
export function retryProcessorJob(processor: RetryProcessor, every: string): JobDefinition {
  return {
    name: RETRY_PROCESS_JOB,
    description: 'Charges due retry jobs (failed charges and renewals), claimed with FOR UPDATE SKIP LOCKED.',
    schedule: { every },
    handler: async () => {
      const { claimMs, prepareMs, chargeMs, recordMs, ...counts } = await processor.run();
      return { ...counts, claimMs: Math.round(claimMs), prepareMs: Math.round(prepareMs), chargeMs: Math.round(chargeMs), recordMs: Math.round(recordMs) };
    },
  };
}

export function renewalsJob(dunning: DunningService, every: string): JobDefinition {
  return {
    name: RENEWALS_JOB,
    description: 'Queues the renewal charge of auto-renewing subscriptions whose period has ended.',
    schedule: { every },
    handler: async () => ({ ...(await dunning.renewDue()) }),
  };
}
