import type { JobDefinition } from '../platform/jobs/job';
import type { ManualCapture } from './manual-capture.service';

/** The backstop of manual capture: captures fulfilled authorizations the immediate attempt missed, and retries failed ones. */
export function manualCaptureJob(capture: ManualCapture, every: string): JobDefinition {
  return {
    name: 'payments:capture-due',
    description: 'Captures authorized (manual-capture) payments whose access is fulfilled; retries failed captures with backoff.',
    schedule: { every },
    handler: async () => ({ ...(await capture.sweep()) }),
  };
}
