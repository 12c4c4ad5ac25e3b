import type { AlertService } from '../alerts/alert.service';
import type { CatalogService } from '../catalog/catalog.service';
import type { CustomerService } from '../customers/customer.service';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { CashfreeEventHandler } from '../payments/cashfree-events';
import { CheckoutAdvice } from '../payments/checkout-advice.service';
import { staleCleanupJob } from '../payments/cleanup.job';
import { LatePayments } from '../payments/late-payments';
import { PaymentSync } from '../payments/payment-sync.service';
import { PaymentTransitions } from '../payments/payment-transitions.service';
import { PaymentService } from '../payments/payment.service';
import { PendingPayments } from '../payments/pending-payments.service';
import { StaleCleanup } from '../payments/stale-cleanup.service';
import { StripeEventHandler } from '../payments/stripe-events';
import type { Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { Scheduler } from '../platform/jobs/scheduler';
import type { Logger } from '../platform/observability/logger';
import type { PayoutService } from '../reconciliation/payout.service';

export interface Payments {
  transitions: PaymentTransitions;
  paymentSync: PaymentSync;
  pending: PendingPayments;
  payments: PaymentService;
  latePayments: LatePayments;
  staleCleanup: StaleCleanup;
  checkoutAdvice: CheckoutAdvice;
}

export interface PaymentsDeps {
  config: Config;
  db: Database;
  gateway: PaymentGateway;
  /** The second gateway; null when it is not configured. */
  cashfree: CashfreeGateway | null;
  scheduler: Scheduler;
  intake: WebhookIntake;
  alerts: AlertService;
  catalog: CatalogService;
  customers: CustomerService;
  payouts: PayoutService;
  logger: Logger;
}

/**
 * The payment's life: checkout, the state machine, pending and late payments, the stale cleanup
 * job, and the gateways' appliers registered with the inbox (Stripe's one event at a time and in
 * batches, Cashfree's one at a time).
 * What a status change sets off is wired by the composition root (services.ts), in its order.
 */
export function createPayments(deps: PaymentsDeps): Payments {
  const { config, db, gateway, scheduler, alerts, catalog, logger } = deps;
  const transitions = new PaymentTransitions();
  const paymentSync = new PaymentSync(transitions);
  const pending = new PendingPayments(db, gateway, transitions, paymentSync, config.payments.checkoutExpiryMinutes, deps.cashfree);
  const payments = new PaymentService(db, gateway, transitions, pending, catalog, deps.customers, alerts, {
    successUrl: config.stripe.checkoutSuccessUrl,
    cancelUrl: config.stripe.checkoutCancelUrl,
  }, deps.cashfree);
  const latePayments = new LatePayments(db, gateway, paymentSync, alerts, config.payments.latePaymentPolicy, logger.child({ component: 'late-payments' }), deps.cashfree);
  const staleCleanup = new StaleCleanup(db, pending, latePayments, alerts, { batchSize: config.payments.cleanupBatchSize, largeThreshold: config.payments.largeCleanupThreshold }, logger.child({ component: 'cleanup' }));
  const checkoutAdvice = new CheckoutAdvice(pending, catalog, scheduler);
  scheduler.define(staleCleanupJob(staleCleanup, config.payments.cleanupCron));

  const stripeEvents = new StripeEventHandler(gateway, paymentSync, alerts, deps.payouts);
  deps.intake.register('stripe', (tx, event) => stripeEvents.apply(tx, event));
  deps.intake.registerBatch('stripe', (tx, events) => stripeEvents.applyBatch(tx, events));
  // Cashfree's facts go through the same PaymentSync and PaymentTransitions (and so the same listeners).
  if (deps.cashfree) {
    const cashfreeEvents = new CashfreeEventHandler(deps.cashfree, paymentSync, alerts);
    deps.intake.register('cashfree', (tx, event) => cashfreeEvents.apply(tx, event));
  }
  return { transitions, paymentSync, pending, payments, latePayments, staleCleanup, checkoutAdvice };
}
