import { accessExpiryJob } from '../access/access-expiry.job';
import { AccessExpiry } from '../access/access-expiry.service';
import { AccessQueries } from '../access/access-query.service';
import { AccessRemoval } from '../access/access-removal.service';
import { AccessRevocation } from '../access/access-revocation.service';
import { retentionJob, testLinkRemovalJob } from '../access/access.jobs';
import { forgetInviteLinkUsers } from '../access/invite-link.service';
import { Retention } from '../access/retention.service';
import { SubscriptionService } from '../access/subscription.service';
import { forgetBindingTokens } from '../access/telegram-binding.service';
import { forgetOutboxUser } from '../access/telegram-outbox.service';
import { TestLinkService } from '../access/test-link.service';
import type { AlertService } from '../alerts/alert.service';
import type { CustomerService } from '../customers/customer.service';
import { scrubGatewayEvents } from '../customers/gateway-event-scrubber';
import { redactPersonalValues } from '../customers/personal-data-copies';
import { PersonalDataService, type Scrubber } from '../customers/personal-data.service';
import type { DeliveryDispatcher } from '../delivery/delivery-dispatcher';
import type { DeliveryService } from '../delivery/delivery.service';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import type { Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { Scheduler } from '../platform/jobs/scheduler';
import type { Logger } from '../platform/observability/logger';
import type { Clock } from '../platform/shared/clock';
import { createTelegramAccess, type TelegramAccess } from './telegram-access.module';

export interface Access extends TelegramAccess {
  subscriptions: SubscriptionService;
  personalData: PersonalDataService;
  accessExpiry: AccessExpiry;
  testLinks: TestLinkService;
  retention: Retention;
  accessQueries: AccessQueries;
}

export interface AccessDeps {
  config: Config;
  clock: Clock;
  db: Database;
  telegram: TelegramClient;
  intake: WebhookIntake;
  alerts: AlertService;
  customers: CustomerService;
  delivery: DeliveryService;
  dispatcher: DeliveryDispatcher;
  scheduler: Scheduler;
  logger: Logger;
  /** Other features' erasure hooks (verification details), run before the net by value. */
  erasers?: Scrubber[];
}

/**
 * Access follows money: subscriptions, removal when access ends (at once, through the Telegram
 * outbox, and by the nightly expiry), test links, retention, the erasure of personal data, and
 * the Telegram side (updates, binding, joins, owed calls).
 */
export function createAccess(deps: AccessDeps): Access {
  const { config, db, telegram, scheduler, logger } = deps;
  const subscriptions = new SubscriptionService();
  const telegramAccess = createTelegramAccess({ config, db, telegram, intake: deps.intake, alerts: deps.alerts, customers: deps.customers, delivery: deps.delivery, dispatcher: deps.dispatcher, scheduler, logger });
  // Access follows money at once: the removal is queued in the transaction that ended access.
  const accessRevocation = new AccessRevocation(telegramAccess.telegramOutbox);
  subscriptions.onAccessEnded((tx, subscription, payment, reason) => accessRevocation.revokeNow(tx, subscription, payment, reason));

  const personalData = new PersonalDataService();
  // In this order; last, the net by value over what the hooks before it left (and every free-text column).
  for (const erase of [scrubGatewayEvents, forgetInviteLinkUsers, ...(deps.erasers ?? []), forgetBindingTokens, forgetOutboxUser, redactPersonalValues]) personalData.onErase(erase);
  const accessRemoval = new AccessRemoval(db, telegram, logger.child({ component: 'access-removal' }));
  const accessExpiry = new AccessExpiry(db, accessRemoval, personalData, config.access, logger.child({ component: 'access-expiry' }));
  scheduler.define(accessExpiryJob(accessExpiry, config.access.expiryCron));
  const testLinks = new TestLinkService(db, telegram, scheduler, logger.child({ component: 'test-links' }));
  const retention = new Retention(db, testLinks, config.access, logger.child({ component: 'retention' }));
  scheduler.define(testLinkRemovalJob(testLinks));
  scheduler.define(retentionJob(retention, config.access.retentionEvery));
  return { subscriptions, personalData, accessExpiry, testLinks, retention, accessQueries: new AccessQueries(deps.clock), ...telegramAccess };
}
