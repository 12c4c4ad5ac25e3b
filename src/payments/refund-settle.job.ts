import type { JobDefinition } from '../platform/jobs/job';
import { SETTLE_PENDING_REFUNDS_JOB, type Refunds } from './refund.service';

/** The backstop of refunds: a PENDING refund nobody came back for is made again under its own key. */
export function settlePendingRefundsJob(refunds: Refunds, every: string, olderThanMs: number): JobDefinition {
  return {
    name: SETTLE_PENDING_REFUNDS_JOB,
    description: 'Makes again, under their own idempotency keys, refunds left PENDING (a crash or a timeout between our commit and the gateway\'s answer); a refusal is FAILED with REFUND_FAILED.',
    schedule: { every },
    handler: async () => ({ ...(await refunds.settleStale(olderThanMs)) }),
  };
}
