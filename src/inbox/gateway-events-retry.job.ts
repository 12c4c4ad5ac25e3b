import type { JobDefinition } from '../platform/jobs/job';
import type { WebhookIntake } from './webhook-intake.service';

const BATCH = 100;

/** Re-applies webhook events whose processing failed, once their backoff has passed. */
export function gatewayEventRetryJob(intake: WebhookIntake, every: string): JobDefinition {
  return {
    name: 'gateway-events:retry',
    description: 'Re-applies gateway events whose processing failed (bounded attempts with backoff).',
    schedule: { every },
    handler: async () => intake.retryDue(BATCH),
  };
}
