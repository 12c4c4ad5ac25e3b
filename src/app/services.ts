import { AlertService } from '../alerts/alert.service';
import { CatalogService } from '../catalog/catalog.service';
import { PaymentGatewayName } from '../catalog/plan.entity';
import type { Config } from '../platform/config';
import { CustomerService } from '../customers/customer.service';
import type { Orm } from '../platform/database/orm';
import { Database } from '../platform/database/transaction';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import type { AppPubSub } from '../platform/graphql/pubsub';
import { HealthService } from './health.service';
import type { Metrics } from '../platform/observability/metrics';
import type { Scheduler } from '../platform/jobs/scheduler';
import { deliverWhenPaid, deliverWhenPaidMany } from '../delivery/delivery-triggers';
import { TelegramClient } from '../integrations/telegram/telegram.client';
import type { Clock } from '../platform/shared/clock';
import type { Logger } from '../platform/observability/logger';
import { PayoutService } from '../reconciliation/payout.service';
import { createAccess, type Access } from './access.module';
import { createAnalytics, type Analytics } from './analytics.module';
import { createDelivery, type Delivery } from './delivery.module';
import { createInbox } from './inbox.module';
import { createMonitoring, type Monitoring } from './monitoring.module';
import { createPayments, type Payments } from './payments.module';
import { createRetries, type Retries } from './retries.module';
import { createVerification, type Verification } from './verification.module';

/** Every service, built once: what main, the resolvers' factories, the routes and the tests draw on. */
export interface Services extends Payments, Delivery, Access, Retries, Monitoring, Analytics, Verification {
  config: Config;
  clock: Clock;
  logger: Logger;
  orm: Orm;
  db: Database;
  pubsub: AppPubSub;
  gateway: PaymentGateway;
  /** The second gateway (issue 15); null when it is not configured. */
  cashfree: CashfreeGateway | null;
  scheduler: Scheduler;
  metrics: Metrics;
  health: HealthService;
  alerts: AlertService;
  catalog: CatalogService;
  customers: CustomerService;
  payouts: PayoutService;
  intake: WebhookIntake;
  telegram: TelegramClient;
}

export interface Infrastructure {
  config: Config;
  clock: Clock;
  logger: Logger;
  orm: Orm;
  pubsub: AppPubSub;
  gateway: PaymentGateway;
  /** The second gateway (issue 15); null when it is not configured. */
  cashfree: CashfreeGateway | null;
  scheduler: Scheduler;
  metrics: Metrics;
}

/**
 * The composition root: the shared services, then one module per feature (a file each in src/app),
 * then what a payment's status change sets off, in order.
 */
export function createServices(infra: Infrastructure): Services {
  const { config, clock, logger, orm, pubsub, gateway, cashfree, scheduler, metrics } = infra;
  const db = new Database(orm.em, pubsub, clock, logger);
  const alerts = new AlertService(db);
  const catalog = new CatalogService(db, config.payments.defaultGateway as PaymentGatewayName);
  const customers = new CustomerService(db);
  const payouts = new PayoutService(alerts);
  const telegram = new TelegramClient({ apiUrl: config.telegram.apiUrl, botToken: config.telegram.botToken, timeoutMs: config.delivery.telegramTimeoutMs });
  const health = new HealthService({ config, db, scheduler, gateway, pubsub, telegram });

  const intake = createInbox({ config, db, scheduler, alerts, metrics, logger });
  const payments = createPayments({ config, db, gateway, cashfree, scheduler, intake, alerts, catalog, customers, payouts, logger });
  const delivery = createDelivery({ config, db, pubsub, telegram, catalog, alerts, scheduler, logger });
  const { eraser: forgetVerificationDetails, ...verification } = createVerification({ config, db, intake, payments: payments.payments, catalog, customers, alerts, metrics, logger });
  const access = createAccess({ config, clock, db, telegram, intake, alerts, customers, delivery: delivery.delivery, dispatcher: delivery.dispatcher, scheduler, logger, erasers: [forgetVerificationDetails] });

  // What a status change sets off, in this order, inside the transaction that changed it: a late
  // payment to be refunded is marked first (so it gets neither access nor links), then access
  // starts or ends with the money, then invite links become owed, or are called back.
  const { transitions } = payments;
  for (const listener of [payments.latePayments.onTransition, access.subscriptions.onTransition, deliverWhenPaid(delivery.delivery, delivery.dispatcher)]) transitions.onTransition(listener);
  // The same for a batch of plain successes (PENDING -> SUCCEEDED, set-based): a late payment is never one.
  for (const listener of [access.subscriptions.onPaidMany, deliverWhenPaidMany(delivery.delivery, delivery.dispatcher)]) transitions.onPaidMany(listener);

  const monitoring = createMonitoring({ config, logger, db, gateway, cashfree, scheduler, alerts, transitions, paymentSync: payments.paymentSync, intake, delivery: delivery.delivery, subscriptions: access.subscriptions, payouts });
  const retries = createRetries({
    config, db, gateway, scheduler, alerts, catalog, customers, payments: payments.payments, transitions, paymentSync: payments.paymentSync, telegram, logger,
    observer: { outcome: (outcome) => metrics.retryOutcomes.inc({ outcome }), processed: (result, seconds) => metrics.retryProcessing.observe({ result }, seconds) },
  });
  return { config, clock, logger, orm, db, pubsub, gateway, cashfree, scheduler, metrics, health, alerts, catalog, customers, payouts, intake, telegram, ...payments, ...delivery, ...access, ...verification, ...retries, ...monitoring, ...createAnalytics({ db, scheduler }) };
}
