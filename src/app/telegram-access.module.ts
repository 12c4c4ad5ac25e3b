import type { AlertService } from '../alerts/alert.service';
import type { Config } from '../platform/config';
import { queueBackoff } from '../platform/config/queues';
import type { CustomerService } from '../customers/customer.service';
import type { Database } from '../platform/database/transaction';
import type { DeliveryDispatcher } from '../delivery/delivery-dispatcher';
import type { DeliveryService } from '../delivery/delivery.service';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { Scheduler } from '../platform/jobs/scheduler';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { JoinService } from '../access/join.service';
import { TelegramBinding } from '../access/telegram-binding.service';
import { telegramOutboxJob } from '../access/telegram-outbox.job';
import { TelegramOutbox } from '../access/telegram-outbox.service';
import { TelegramUpdates } from '../access/telegram-updates.service';

export interface TelegramAccess {
  telegramOutbox: TelegramOutbox;
  telegramBinding: TelegramBinding;
  joins: JoinService;
  telegramUpdates: TelegramUpdates;
}

/** The Telegram side of access (updates, binding, joins, owed calls), wired for the composition root. */
export function createTelegramAccess(deps: {
  config: Config;
  db: Database;
  telegram: TelegramClient;
  intake: WebhookIntake;
  alerts: AlertService;
  customers: CustomerService;
  delivery: DeliveryService;
  dispatcher: DeliveryDispatcher;
  scheduler: Scheduler;
  logger: Logger;
}): TelegramAccess {
  const { config, db, telegram, logger } = deps;
  const settings = config.telegram;
  // The lease outlasts one call's timeout, so a slow call is not taken over while it still runs.
  const leaseMs = config.delivery.telegramTimeoutMs * 2 + 5_000;
  const backoff = queueBackoff(config.queues.telegramOutbox, config.queues);
  const telegramOutbox = new TelegramOutbox(db, telegram, deps.alerts, { maxAttempts: settings.outboxMaxAttempts, leaseMs, backoff }, logger.child({ component: 'telegram-outbox' }));
  deps.scheduler.define(telegramOutboxJob(telegramOutbox, settings.outboxRetryEvery));
  const telegramBinding = new TelegramBinding(db, telegram, deps.customers, deps.delivery, deps.dispatcher, telegramOutbox, {
    tokenTtlHours: settings.bindingTokenTtlHours,
    botUsername: settings.botUsername,
  }, logger.child({ component: 'telegram-binding' }));
  const joins = new JoinService(deps.customers, telegramOutbox);
  const telegramUpdates = new TelegramUpdates(deps.intake, telegramBinding, joins, telegram, settings, logger.child({ component: 'telegram-updates' }));
  return { telegramOutbox, telegramBinding, joins, telegramUpdates };
}
