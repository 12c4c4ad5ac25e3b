import { forgetInviteLinkUsers, InviteLinkService } from '../access/invite-link.service';
import { SubscriptionService } from '../access/subscription.service';
import { createTelegramAccess, type TelegramAccess } from './telegram-access.module';
import { forgetBindingTokens } from '../access/telegram-binding.service';
import { AccessRemoval } from '../access/access-removal.service';
import { AccessRevocation } from '../access/access-revocation.service';
import { AccessExpiry } from '../access/access-expiry.service';
import { accessExpiryJob } from '../access/access-expiry.job';
import { retentionJob, testLinkRemovalJob } from '../access/access.jobs';
import { Retention } from '../access/retention.service';
import { TestLinkService } from '../access/test-link.service';
import { AccessQueries } from '../access/access-query.service';
import { EmailFallback } from '../delivery/email-fallback.service';
import { PersonalDataService } from '../customers/personal-data.service';
import { redactPersonalValues } from '../customers/personal-data-copies';
import { forgetOutboxUser } from '../access/telegram-outbox.service';
import { scrubGatewayEvents } from '../customers/gateway-event-scrubber';
import { AlertService } from '../alerts/alert.service';
import { recordAudit } from '../audit/audit.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { CatalogService } from '../catalog/catalog.service';
import { queueBackoff, type Config } from '../platform/config';
import { CustomerService } from '../customers/customer.service';
import type { Orm } from '../platform/database/orm';
import { Database } from '../platform/database/transaction';
import { StripeEventHandler } from '../payments/stripe-events';
import { WebhookIntake } from '../inbox/webhook-intake.service';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { AppPubSub } from '../platform/graphql/pubsub';
import { HealthService } from './health.service';
import { Metrics } from '../platform/observability/metrics';
import { gatewayEventRetryJob } from '../inbox/gateway-events-retry.job';
import type { Scheduler } from '../platform/jobs/scheduler';
import { DeliveryDispatcher } from '../delivery/delivery-dispatcher';
import { DeliveryService } from '../delivery/delivery.service';
import { DeliveryAdmin } from '../delivery/delivery-admin.service';
import { RecoveryStatsFeed, RecoveryStatsService } from '../delivery/recovery-stats.service';
import { RecoverySweep } from '../delivery/recovery-sweep';
import { recoverySweepJob } from '../delivery/recovery-sweep.job';
import { deliverWhenPaid, deliverWhenPaidMany } from '../delivery/delivery-triggers';
import { TelegramClient } from '../integrations/telegram/telegram.client';
import { CheckoutAdvice } from '../payments/checkout-advice.service';
import { staleCleanupJob } from '../payments/cleanup.job';
import { LatePayments } from '../payments/late-payments';
import { PaymentService } from '../payments/payment.service';
import { PendingPayments } from '../payments/pending-payments.service';
import { StaleCleanup } from '../payments/stale-cleanup.service';
import { PaymentSync } from '../payments/payment-sync.service';
import { PaymentTransitions } from '../payments/payment-transitions.service';
import type { Clock } from '../platform/shared/clock';
import type { Logger } from '../platform/observability/logger';
import { createRetries, type Retries } from './retries.module';
import { createMonitoring, type Monitoring } from './monitoring.module';
import { PayoutService } from '../reconciliation/payout.service';

export interface Services extends TelegramAccess, Retries, Monitoring {
  payouts: PayoutService;
  config: Config;
  clock: Clock;
  logger: Logger;
  orm: Orm;
  db: Database;
  pubsub: AppPubSub;
  gateway: PaymentGateway;
  scheduler: Scheduler;
  metrics: Metrics;
  health: HealthService;
  alerts: AlertService;
  catalog: CatalogService;
  customers: CustomerService;
  transitions: PaymentTransitions;
  payments: PaymentService;
  pending: PendingPayments;
  latePayments: LatePayments;
  staleCleanup: StaleCleanup;
  checkoutAdvice: CheckoutAdvice;
  paymentSync: PaymentSync;
  intake: WebhookIntake;
  telegram: TelegramClient;
  delivery: DeliveryService;
  dispatcher: DeliveryDispatcher;
  recoverySweep: RecoverySweep;
  deliveryAdmin: DeliveryAdmin;
  recoveryStats: RecoveryStatsService;
  /** Throttled recoveryStatsUpdated pushes; stop() it on shutdown. */
  recoveryStatsFeed: RecoveryStatsFeed;
  subscriptions: SubscriptionService;
  personalData: PersonalDataService;
  accessExpiry: AccessExpiry;
  testLinks: TestLinkService;
  retention: Retention;
  emailFallback: EmailFallback;
  accessQueries: AccessQueries;
}

export interface Infrastructure {
  config: Config;
  clock: Clock;
  logger: Logger;
  orm: Orm;
  pubsub: AppPubSub;
  gateway: PaymentGateway;
  scheduler: Scheduler;
  metrics: Metrics;
}

/** The composition root: every service built once, with its collaborators passed in. */
export function createServices(infra: Infrastructure): Services {
  const { config, clock, logger, orm, pubsub, gateway, scheduler, metrics } = infra;
  const db = new Database(orm.em, pubsub, clock, logger);
  const alerts = new AlertService(db);
  const catalog = new CatalogService(db);
  const customers = new CustomerService(db);
  const transitions = new PaymentTransitions();
  const paymentSync = new PaymentSync(transitions);
  const pending = new PendingPayments(db, gateway, transitions, paymentSync, config.payments.checkoutExpiryMinutes);
  const payments = new PaymentService(db, gateway, transitions, pending, catalog, customers, alerts, {
    successUrl: config.stripe.checkoutSuccessUrl,
    cancelUrl: config.stripe.checkoutCancelUrl,
  });
  const latePayments = new LatePayments(db, gateway, paymentSync, alerts, config.payments.latePaymentPolicy, logger.child({ component: 'late-payments' }));
  const staleCleanup = new StaleCleanup(db, pending, latePayments, alerts, { batchSize: config.payments.cleanupBatchSize, largeThreshold: config.payments.largeCleanupThreshold }, logger.child({ component: 'cleanup' }));
  const checkoutAdvice = new CheckoutAdvice(pending, catalog, scheduler);
  scheduler.define(staleCleanupJob(staleCleanup, config.payments.cleanupCron));
  const intake = new WebhookIntake(db, logger.child({ component: 'inbox' }), { maxAttempts: config.jobs.gatewayEventMaxAttempts, leaseMs: config.jobs.inboxLeaseMs, batchSize: config.jobs.inboxBatchSize, batchApply: config.jobs.inboxBatchApply, backoff: queueBackoff(config.queues.inbox, config.queues) }, {
    onOutcome: (gateway, type, outcome) => metrics.webhookEvent(gateway, type, outcome),
    onGaveUp: async (tx, event) => {
      await alerts.raise(tx, {
        type: AlertType.GATEWAY_EVENT_FAILED,
        severity: AlertSeverity.HIGH,
        title: `Gave up applying ${event.gateway} event ${event.type}`,
        detail: `Event ${event.eventId} failed ${event.attempts} times; last error: ${event.lastError}`,
        subjectType: 'gateway_event',
        subjectId: event.id,
      });
    },
    // A redelivery (or a retry) applied it after all: the alert about giving up no longer holds.
    onRecovered: async (tx, event) => {
      await alerts.resolveByFingerprint(tx, `${AlertType.GATEWAY_EVENT_FAILED}:gateway_event:${event.id}`, `event ${event.eventId} applied on attempt ${event.attempts}`, 'webhook-intake');
    },
    // An operator's replay gave the event its attempts back: who and what, with the change.
    onReplay: (tx, actor, { event, before, after }) => {
      recordAudit(tx, actor, { action: 'inbound_event.replay', subjectType: 'gateway_event', subjectId: event.id, before, after, note: `${event.gateway} event ${event.eventId} (${event.type})` });
    },
  });
  const payouts = new PayoutService(alerts);
  const stripeEvents = new StripeEventHandler(gateway, paymentSync, alerts, payouts);
  intake.register('stripe', (tx, event) => stripeEvents.apply(tx, event));
  intake.registerBatch('stripe', (tx, events) => stripeEvents.applyBatch(tx, events));
  const telegram = new TelegramClient({ apiUrl: config.telegram.apiUrl, botToken: config.telegram.botToken, timeoutMs: config.delivery.telegramTimeoutMs });
  const health = new HealthService({ config, db, scheduler, gateway, pubsub, telegram });

  scheduler.define(gatewayEventRetryJob(intake, config.jobs.gatewayEventRetryEvery));

  const links = new InviteLinkService(db, telegram, config.delivery.linkTtlHours);
  const delivery = new DeliveryService(db, telegram, links, catalog, alerts, config.delivery, logger.child({ component: 'delivery' }), pubsub, queueBackoff(config.delivery, config.queues));
  const dispatcher = new DeliveryDispatcher(delivery, config.delivery.concurrency, logger);
  const recoverySweep = new RecoverySweep(db, delivery, dispatcher, alerts, logger.child({ component: 'recovery-sweep' }));
  const subscriptions = new SubscriptionService();
  // What a status change sets off, in this order, inside the transaction that changed it: a late
  // payment to be refunded is marked first (so it gets neither access nor links), then access
  // starts or ends with the money, then invite links become owed, or are called back.
  for (const listener of [latePayments.onTransition, subscriptions.onTransition, deliverWhenPaid(delivery, dispatcher)]) transitions.onTransition(listener);
  // The same for a batch of plain successes (PENDING -> SUCCEEDED, set-based): a late payment is never one.
  for (const listener of [subscriptions.onPaidMany, deliverWhenPaidMany(delivery, dispatcher)]) transitions.onPaidMany(listener);
  scheduler.define(recoverySweepJob(recoverySweep, config.delivery.sweepEvery));
  const deliveryAdmin = new DeliveryAdmin(db, delivery, dispatcher, recoverySweep, config.delivery.concurrency, logger.child({ component: 'delivery-admin' }));
  const recoveryStats = new RecoveryStatsService(db);
  const recoveryStatsFeed = new RecoveryStatsFeed(recoveryStats, pubsub, logger.child({ component: 'recovery-stats' }));
  delivery.onChange(() => recoveryStatsFeed.changed());

  const personalData = new PersonalDataService();
  personalData.onErase(scrubGatewayEvents);
  personalData.onErase(forgetInviteLinkUsers);
  const accessRemoval = new AccessRemoval(db, telegram, logger.child({ component: 'access-removal' }));
  const accessExpiry = new AccessExpiry(db, accessRemoval, personalData, config.access, logger.child({ component: 'access-expiry' }));
  scheduler.define(accessExpiryJob(accessExpiry, config.access.expiryCron));
  const telegramAccess = createTelegramAccess({ config, db, telegram, intake, alerts, customers, delivery, dispatcher, scheduler, logger });
  // Access follows money at once: the removal is queued in the transaction that ended access.
  const accessRevocation = new AccessRevocation(telegramAccess.telegramOutbox);
  subscriptions.onAccessEnded((tx, subscription, payment, reason) => accessRevocation.revokeNow(tx, subscription, payment, reason));
  personalData.onErase(forgetBindingTokens);
  personalData.onErase(forgetOutboxUser);
  // Last: the net by value, over what the hooks above left (and every free-text column).
  personalData.onErase(redactPersonalValues);
  const testLinks = new TestLinkService(db, telegram, scheduler, logger.child({ component: 'test-links' }));
  const retention = new Retention(db, testLinks, config.access, logger.child({ component: 'retention' }));
  scheduler.define(testLinkRemovalJob(testLinks));
  scheduler.define(retentionJob(retention, config.access.retentionEvery));
  const emailFallback = new EmailFallback(db, { smtpUrl: config.email.smtpUrl, from: config.email.from, graceMs: config.email.fallbackGraceMs }, logger.child({ component: 'email-fallback' }));
  if (emailFallback.enabled) {
    scheduler.define({ name: 'delivery:email-fallback', description: 'Emails invite links to paid customers Telegram cannot reach.', schedule: { every: config.email.fallbackEvery }, handler: async () => ({ ...(await emailFallback.run()) }) });
  }

  const monitoring = createMonitoring({ config, logger, db, gateway, scheduler, alerts, transitions, paymentSync, intake, delivery, subscriptions, payouts });
  const retries = createRetries({
    config, db, gateway, scheduler, alerts, catalog, customers, payments, transitions, paymentSync, telegram, logger,
    observer: { outcome: (outcome) => metrics.retryOutcomes.inc({ outcome }), processed: (result, seconds) => metrics.retryProcessing.observe({ result }, seconds) },
  });
  return { config, clock, logger, orm, db, pubsub, gateway, scheduler, metrics, health, alerts, catalog, customers, transitions, payments, pending, latePayments, staleCleanup, checkoutAdvice, paymentSync, intake, telegram, delivery, dispatcher, recoverySweep, deliveryAdmin, recoveryStats, recoveryStatsFeed, subscriptions, personalData, accessExpiry, testLinks, retention, emailFallback, accessQueries: new AccessQueries(clock), ...telegramAccess, ...retries, payouts, ...monitoring };
}
