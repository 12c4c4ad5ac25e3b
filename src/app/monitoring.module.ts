import { paymentsJoined } from '../access/access-fulfilment';
import type { SubscriptionService } from '../access/subscription.service';
import { AlertNotifier } from '../alerts/alert-notifier';
import { alertNotifyJob } from '../alerts/alert-notify.job';
import type { AlertService } from '../alerts/alert.service';
import { queueBackoff, type Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { DeliveryService } from '../delivery/delivery.service';
import { DeliveryStatus } from '../delivery/delivery-status';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { Scheduler } from '../platform/jobs/scheduler';
import { manualCaptureJob } from '../payments/manual-capture.job';
import { ManualCapture } from '../payments/manual-capture.service';
import { PaymentOperations } from '../payments/payment-operations.service';
import type { PaymentSync } from '../payments/payment-sync.service';
import type { PaymentTransitions } from '../payments/payment-transitions.service';
import { Refunds } from '../payments/refund.service';
import { settlePendingRefundsJob } from '../payments/refund-settle.job';
import type { Logger } from '../platform/observability/logger';
import { CashfreeOrdersCheck } from '../reconciliation/checks/cashfree-orders.check';
import { CashfreeSettlementsCheck } from '../reconciliation/checks/cashfree-settlements.check';
import { MissedWebhooksCheck } from '../reconciliation/checks/missed-webhooks.check';
import { MissingPaymentsCheck } from '../reconciliation/checks/missing-payments.check';
import { PaymentIntentsCheck } from '../reconciliation/checks/payment-intents.check';
import { PayoutsCheck } from '../reconciliation/checks/payouts.check';
import type { PayoutService } from '../reconciliation/payout.service';
import type { ReconciliationCheck } from '../reconciliation/checks/check.types';
import { reconciliationJob } from '../reconciliation/reconciliation.job';
import { ReconciliationService } from '../reconciliation/reconciliation.service';

export interface MonitoringDeps {
  config: Config;
  logger: Logger;
  db: Database;
  gateway: PaymentGateway;
  cashfree: CashfreeGateway | null;
  scheduler: Scheduler;
  alerts: AlertService;
  transitions: PaymentTransitions;
  paymentSync: PaymentSync;
  intake: WebhookIntake;
  delivery: DeliveryService;
  subscriptions: SubscriptionService;
  payouts: PayoutService;
}

export interface Monitoring {
  manualCapture: ManualCapture;
  paymentOperations: PaymentOperations;
  refunds: Refunds;
  reconciliation: ReconciliationService;
  alertNotifier: AlertNotifier;
}

/** Issue 7's services, jobs and hooks: manual capture, operator actions, reconciliation, alert notifications. */
export function createMonitoring(deps: MonitoringDeps): Monitoring {
  const { config, logger, db, gateway, scheduler, alerts, transitions, paymentSync } = deps;
  const alertNotifier = new AlertNotifier(db, config.alertWebhook, queueBackoff(config.alertWebhook, config.queues), logger.child({ component: 'alert-notifier' }));
  alerts.onRaised((tx, alert) => alertNotifier.enqueue(tx, alert));
  if (alertNotifier.enabled) scheduler.define(alertNotifyJob(alertNotifier, config.alertWebhook.sweepEvery));

  // CAPTURE_ON=joined: delivered is not enough, the customer must have joined (the access feature calls kick()).
  const fulfilled = config.capture.on === 'joined' ? paymentsJoined : null;
  const manualCapture = new ManualCapture(db, gateway, transitions, paymentSync, alerts, config.capture, fulfilled, logger.child({ component: 'manual-capture' }), queueBackoff(config.capture, config.queues));
  if (config.capture.on === 'delivered') deps.delivery.onChange((change) => change.to === DeliveryStatus.DELIVERED && manualCapture.kick(change.paymentId));
  scheduler.define(manualCaptureJob(manualCapture, config.capture.sweepEvery));

  const paymentOperations = new PaymentOperations(db, gateway, transitions, paymentSync, manualCapture, alerts, deps.cashfree);
  const refunds = new Refunds(db, gateway, transitions, paymentSync, paymentOperations, alerts, logger.child({ component: 'refunds' }), deps.cashfree);
  scheduler.define(settlePendingRefundsJob(refunds, config.jobs.refundSettleEvery, config.jobs.refundSettleAfterSeconds * 1000));
  const settings = config.reconciliation;
  const checks: ReconciliationCheck[] = [
    new MissedWebhooksCheck(deps.intake, alerts),
    new PayoutsCheck(deps.payouts),
    new PaymentIntentsCheck({ operations: paymentOperations, fulfilled, deadlines: settings, slices: settings.concurrency * 4 }),
    // Cashfree's, only when it is configured: its orders (missed webhooks repaired by a sync first) and settlements.
    ...(deps.cashfree ? [new CashfreeOrdersCheck(deps.cashfree, paymentOperations, alerts), new CashfreeSettlementsCheck(deps.cashfree, deps.payouts)] : []),
    new MissingPaymentsCheck(deps.subscriptions),
  ];
  const reconciliation = new ReconciliationService(db, gateway, alerts, checks, settings, logger.child({ component: 'reconciliation' }));
  scheduler.define(reconciliationJob(reconciliation, settings.cron));
  return { manualCapture, paymentOperations, refunds, reconciliation, alertNotifier };
}
