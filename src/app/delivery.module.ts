import { InviteLinkService } from '../access/invite-link.service';
import type { AlertService } from '../alerts/alert.service';
import type { CatalogService } from '../catalog/catalog.service';
import { DeliveryAdmin } from '../delivery/delivery-admin.service';
import { DeliveryDispatcher } from '../delivery/delivery-dispatcher';
import { DeliveryService } from '../delivery/delivery.service';
import { EmailFallback } from '../delivery/email-fallback.service';
import { RecoveryStatsFeed, RecoveryStatsService } from '../delivery/recovery-stats.service';
import { RecoverySweep } from '../delivery/recovery-sweep';
import { recoverySweepJob } from '../delivery/recovery-sweep.job';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { queueBackoff, type Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { AppPubSub } from '../platform/graphql/pubsub';
import type { Scheduler } from '../platform/jobs/scheduler';
import type { Logger } from '../platform/observability/logger';

export interface Delivery {
  links: InviteLinkService;
  delivery: DeliveryService;
  dispatcher: DeliveryDispatcher;
  recoverySweep: RecoverySweep;
  deliveryAdmin: DeliveryAdmin;
  recoveryStats: RecoveryStatsService;
  /** Throttled recoveryStatsUpdated pushes; stop() it on shutdown. */
  recoveryStatsFeed: RecoveryStatsFeed;
  emailFallback: EmailFallback;
}

/** Invite links owed and sent: the delivery queue, its dispatcher and sweep, operator tools, figures, the email fallback. */
export function createDelivery(deps: { config: Config; db: Database; pubsub: AppPubSub; telegram: TelegramClient; catalog: CatalogService; alerts: AlertService; scheduler: Scheduler; logger: Logger }): Delivery {
  const { config, db, telegram, alerts, scheduler, logger } = deps;
  const settings = config.delivery;
  const links = new InviteLinkService(db, telegram, settings.linkTtlHours);
  const delivery = new DeliveryService(db, telegram, links, deps.catalog, alerts, settings, logger.child({ component: 'delivery' }), deps.pubsub, queueBackoff(settings, config.queues));
  const dispatcher = new DeliveryDispatcher(delivery, settings.concurrency, logger);
  const recoverySweep = new RecoverySweep(db, delivery, dispatcher, alerts, logger.child({ component: 'recovery-sweep' }));
  scheduler.define(recoverySweepJob(recoverySweep, settings.sweepEvery));
  const deliveryAdmin = new DeliveryAdmin(db, delivery, dispatcher, recoverySweep, settings.concurrency, logger.child({ component: 'delivery-admin' }));
  const recoveryStats = new RecoveryStatsService(db);
  const recoveryStatsFeed = new RecoveryStatsFeed(recoveryStats, deps.pubsub, logger.child({ component: 'recovery-stats' }));
  delivery.onChange(() => recoveryStatsFeed.changed());

  const emailFallback = new EmailFallback(db, { smtpUrl: config.email.smtpUrl, from: config.email.from, graceMs: config.email.fallbackGraceMs }, logger.child({ component: 'email-fallback' }));
  if (emailFallback.enabled) {
    scheduler.define({ name: 'delivery:email-fallback', description: 'Emails invite links to paid customers Telegram cannot reach.', schedule: { every: config.email.fallbackEvery }, handler: async () => ({ ...(await emailFallback.run()) }) });
  }
  return { links, delivery, dispatcher, recoverySweep, deliveryAdmin, recoveryStats, recoveryStatsFeed, emailFallback };
}
