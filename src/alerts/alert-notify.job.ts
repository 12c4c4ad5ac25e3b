import type { JobDefinition } from '../platform/jobs/job';
import type { AlertNotifier } from './alert-notifier';

/** The backstop of outbound alert notifications: sends what a crash, restart or lost timer left due. */
export function alertNotifyJob(notifier: AlertNotifier, every: string): JobDefinition {
  return {
    name: 'alerts:notify',
    description: 'Posts HIGH and CRITICAL alerts whose outbound notification (ALERT_WEBHOOK_URL) is due or being retried.',
    schedule: { every },
    handler: async () => notifier.sweep(),
  };
}
