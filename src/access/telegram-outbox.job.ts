import type { JobDefinition } from '../platform/jobs/job';
import type { TelegramOutbox } from './telegram-outbox.service';

const BATCH = 100;

/** Retries Telegram calls (link revokes, removals, join decisions, replies) that failed right after commit. */
export function telegramOutboxJob(outbox: TelegramOutbox, every: string): JobDefinition {
  return {
    name: 'telegram:outbox',
    description: 'Retries owed Telegram calls (invite-link revokes, member removals, join-request decisions, replies) with backoff.',
    schedule: { every },
    handler: async () => outbox.runDue(BATCH),
  };
}
