import { SubscriptionDunning } from '../access/subscription-dunning.service';
import type { AlertService } from '../alerts/alert.service';
import type { CatalogService } from '../catalog/catalog.service';
import type { Config } from '../platform/config';
import type { CustomerService } from '../customers/customer.service';
import type { Database } from '../platform/database/transaction';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { Scheduler } from '../platform/jobs/scheduler';
import { OffSessionPayments } from '../payments/off-session-payments';
import type { PaymentService } from '../payments/payment.service';
import type { PaymentSync } from '../payments/payment-sync.service';
import type { PaymentTransitions } from '../payments/payment-transitions.service';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { DunningService } from '../retries/dunning.service';
import { RetryBatch } from '../retries/retry-batch';
import { RetryBudget } from '../retries/retry-budget';
import { CustomerNotifier } from '../retries/retry-events';
import { RetryPrechecks } from '../retries/retry-prechecks';
import { RetryProcessor } from '../retries/retry-processor';
import { RetryQueue } from '../retries/retry-queue.service';
import { RetryRequests } from '../retries/retry-requests.service';
import { RetrySettlement, type RetryObserver } from '../retries/retry-settlement';
import { renewalsJob, retryProcessorJob } from '../retries/retry.jobs';

export interface Retries {
  retryQueue: RetryQueue;
  retryProcessor: RetryProcessor;
  retryRequests: RetryRequests;
  dunning: DunningService;
}

export interface RetriesDeps {
  config: Config;
  db: Database;
  gateway: PaymentGateway;
  scheduler: Scheduler;
  alerts: AlertService;
  catalog: CatalogService;
  customers: CustomerService;
  payments: PaymentService;
  transitions: PaymentTransitions;
  paymentSync: PaymentSync;
  telegram: TelegramClient;
  logger: Logger;
  /** Outcomes and processing times, for metrics. */
  observer?: RetryObserver;
  /** Tests pin the jitter. */
  random?: () => number;
}

/** The retry queue and dunning, wired; their two jobs are defined on the scheduler. */
export function createRetries(deps: RetriesDeps): Retries {
  const { config, db, gateway, scheduler, logger } = deps;
  const settings = config.retries;
  const log = logger.child({ component: 'retries' });
  const offSession = new OffSessionPayments(deps.transitions, deps.paymentSync, deps.catalog);
  const subscriptions = new SubscriptionDunning();
  const budget = new RetryBudget(settings.cardBudget, settings.cardBudgetWindowDays);
  const notifier = new CustomerNotifier(db, deps.customers, deps.telegram, log);
  const settlement = new RetrySettlement(offSession, deps.transitions, deps.alerts, notifier, budget, { jitter: settings.jitter }, deps.random);
  if (deps.observer) settlement.observe(deps.observer);
  const retryQueue = new RetryQueue(db, settlement, settings.leaseMs);
  const batch = new RetryBatch(db, new RetryPrechecks(offSession, subscriptions, budget));
  const retryProcessor = new RetryProcessor(db, retryQueue, batch, gateway, settlement, settings, log, deps.observer);
  const retryRequests = new RetryRequests(db, deps.payments, offSession, gateway, retryQueue, retryProcessor, budget, notifier, settings.jitter);
  const dunning = new DunningService(db, subscriptions, deps.payments, offSession, retryQueue, {
    renewalGraceMs: config.access.renewalGraceMs,
    lastRetryMarginMs: settings.lastRetryMarginMs,
    batchSize: settings.renewalBatchSize,
  }, notifier, logger.child({ component: 'dunning' }));
  dunning.watch(settlement);
  scheduler.define(retryProcessorJob(retryProcessor, settings.processEvery));
  scheduler.define(renewalsJob(dunning, settings.renewalsEvery));
  return { retryQueue, retryProcessor, retryRequests, dunning };
}
