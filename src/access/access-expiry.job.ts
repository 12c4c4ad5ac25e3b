import type { JobDefinition } from '../platform/jobs/job';
import type { AccessExpiry } from './access-expiry.service';

export function accessExpiryJob(expiry: AccessExpiry, cron: string): JobDefinition {
  return {
    name: 'access:expiry',
    description: 'Lapses ended subscriptions, removes lapsed customers from their channels, deletes personal data of customers with nothing left.',
    schedule: { cron },
    handler: async () => ({ ...(await expiry.run()) }),
  };
}
