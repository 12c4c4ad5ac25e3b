import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { systemActor, type Actor, type Tx } from '../platform/database/transaction';
import type { GatewayPaymentIntent } from '../integrations/stripe/payment-gateway';
import type { OffSessionPayments } from '../payments/off-session-payments';
import { OPEN_STATUSES, PaymentStatus } from '../payments/payment-status';
import type { PaymentTransitions } from '../payments/payment-transitions.service';
import { AttemptOutcome, type RetryAttempt } from './retry-attempt.entity';
import { CustomerNotifier, formatMoney, publishRetryEvent, RetryEventType } from './retry-events';
import { RetryJob, RetryJobStatus } from './retry-job.entity';
import { nextStep } from './retry-policy';
import type { RetryBudget } from './retry-budget';
import { classifyFailure, STRATEGIES, type ChargeFailure } from './strategies';

const actor = systemActor('retry-queue');

export interface FailureDetails extends ChargeFailure {
  message: string | null;
}

/** Dunning listens: a renewal that fails makes its subscription PAST_DUE, one that gives up lapses it. */
export interface SettlementListener {
  failed?(tx: Tx, job: RetryJob): Promise<void>;
  /**
   * customerCanAct: the customer was asked to fix it (authenticate, another card).
   * outcomeUnknown: the last charge got no answer, so Stripe may have the money after all.
   */
  gaveUp?(tx: Tx, job: RetryJob, why: string, customerCanAct: boolean, outcomeUnknown: boolean): Promise<void>;
}

/** What became of a job, told once its transaction has committed. */
export type RetryOutcome = 'succeeded' | 'paid_elsewhere' | 'retry_scheduled' | 'exhausted' | 'customer_action_needed' | 'cancelled';

/** Metrics listen: outcomes from the settlement, processing times from the processor. */
export interface RetryObserver {
  outcome?(outcome: RetryOutcome): void;
  /** One claimed job: succeeded or failed (charged and recorded), settled (no charge needed), error (nothing recorded). */
  processed?(result: 'succeeded' | 'failed' | 'settled' | 'error', seconds: number): void;
}

export const retriesUsed = (job: RetryJob): number => Math.max(0, job.attempts - (job.firstAttemptIsCharge ? 1 : 0));

/**
 * Applies what happened to a job's charge, inside the caller's transaction: the payment through
 * the state machine, the job's next step from its strategy, events, the alert and the customer
 * notification.
 */
export class RetrySettlement {
  private readonly listeners: SettlementListener[] = [];
  private observer: RetryObserver = {};

  constructor(
    private readonly payments: OffSessionPayments,
    private readonly transitions: PaymentTransitions,
    private readonly alerts: AlertService,
    private readonly notifier: CustomerNotifier,
    private readonly budget: RetryBudget,
    private readonly settings: { jitter: number },
    private readonly random: () => number = Math.random,
  ) {}

  watch(listener: SettlementListener): void {
    this.listeners.push(listener);
  }

  observe(observer: RetryObserver): void {
    this.observer = observer;
  }

  async succeeded(tx: Tx, job: RetryJob, attempt: RetryAttempt, intent: GatewayPaymentIntent): Promise<void> {
    await this.payments.recordCharged(tx, actor, job.payment.id, intent, `retry job ${job.id}, attempt ${attempt.attempt}`);
    job.recovered = attempt.isRetry;
    this.finish(tx, job, RetryJobStatus.SUCCEEDED, `charged: ${intent.id} (${intent.status})`);
    publishRetryEvent(tx, RetryEventType.SUCCEEDED, job, null);
    this.told(tx, 'succeeded');
  }

  /** Someone paid the payment outside the queue (a checkout, a webhook for an earlier attempt): nothing left to charge. */
  paidElsewhere(tx: Tx, job: RetryJob, status: PaymentStatus): void {
    this.finish(tx, job, RetryJobStatus.SUCCEEDED, `payment already ${status}`);
    publishRetryEvent(tx, RetryEventType.SUCCEEDED, job, `payment already ${status}`);
    this.told(tx, 'paid_elsewhere');
  }

  async failed(tx: Tx, job: RetryJob, failure: FailureDetails, attempt: RetryAttempt | null): Promise<void> {
    Object.assign(job, { errorCode: failure.code, declineCode: failure.declineCode, adviceCode: failure.adviceCode, errorMessage: failure.message, reason: classifyFailure(failure) });
    const payment = await this.transitions.lock(tx, job.payment.id);
    if (payment.status === PaymentStatus.PENDING) {
      await this.transitions.transition(tx, actor, payment.id, PaymentStatus.FAILED, { reason: `retry job ${job.id}`, failureCode: failure.declineCode ?? failure.code, failureMessage: failure.message });
    }
    for (const listener of this.listeners) await listener.failed?.(tx, job);
    const now = tx.clock.now();
    const cardRetries = await this.budget.used(tx.em, job.stripePaymentMethodId, now);
    const strategy = STRATEGIES[job.reason!];
    const step = nextStep({ strategy, retriesUsed: retriesUsed(job), now, deadline: job.deadlineAt, cardRetries, cardBudget: this.budget.limit, jitter: this.settings.jitter, random: this.random });
    if (step.kind === 'retry') return this.reschedule(tx, job, step.at, strategy.maxAttempts);
    const unknown = attempt?.outcome === AttemptOutcome.UNKNOWN;
    if (step.kind === 'exhausted') return this.exhaust(tx, job, step.why, unknown);
    await this.exhaust(tx, job, `customer action needed: ${job.reason}`, unknown, true);
    publishRetryEvent(tx, RetryEventType.CUSTOMER_ACTION_NEEDED, job, step.message);
    this.notifier.notifyAfterCommit(tx, { customerId: job.customer.id, jobId: job.id, amountMinor: job.amountMinor, currency: job.currency }, step.message);
  }

  /**
   * Retries spent. The payment is closed so it blocks nothing (a new checkout, data deletion) —
   * unless the last charge's outcome is unknown: then Stripe may have the money, and its webhook
   * or the reconciliation must settle the payment.
   */
  async exhaust(tx: Tx, job: RetryJob, why: string, outcomeUnknown = false, customerCanAct = false): Promise<void> {
    this.finish(tx, job, RetryJobStatus.EXHAUSTED, why);
    if (!outcomeUnknown) await this.closePayment(tx, job, `retries exhausted: ${why}`);
    await this.alerts.raise(tx, {
      type: AlertType.RETRY_EXHAUSTED,
      severity: AlertSeverity.HIGH,
      title: `Gave up charging ${formatMoney(job.amountMinor, job.currency)}`,
      detail: `Retry job ${job.id} for payment ${job.payment.id} (${job.origin}) ended after ${job.attempts} attempt(s): ${why}. Last error: ${job.declineCode ?? job.errorCode ?? 'none'} ${job.errorMessage ?? ''}${outcomeUnknown ? ' The last charge got no answer: check the payment at Stripe.' : ''}`.trim(),
      subjectType: 'payment',
      subjectId: job.payment.id,
    });
    publishRetryEvent(tx, RetryEventType.EXHAUSTED, job, why);
    this.told(tx, customerCanAct ? 'customer_action_needed' : 'exhausted');
    for (const listener of this.listeners) await listener.gaveUp?.(tx, job, why, customerCanAct, outcomeUnknown);
  }

  async cancel(tx: Tx, job: RetryJob, why: string, by: Actor): Promise<void> {
    job.cancelledBy = by.id;
    this.finish(tx, job, RetryJobStatus.CANCELLED, why);
    await this.closePayment(tx, job, `retry cancelled: ${why}`);
    publishRetryEvent(tx, RetryEventType.CANCELLED, job, why);
    this.told(tx, 'cancelled');
  }

  private reschedule(tx: Tx, job: RetryJob, at: Date, strategyRetries: number): void {
    Object.assign(job, { status: RetryJobStatus.QUEUED, nextAttemptAt: at, leaseToken: null, leaseExpiresAt: null });
    job.maxAttempts = strategyRetries + (job.firstAttemptIsCharge ? 1 : 0);
    publishRetryEvent(tx, RetryEventType.ATTEMPTED, job, job.errorMessage);
    this.told(tx, 'retry_scheduled');
  }

  /** After commit: a rolled-back settlement happened to no job. */
  private told(tx: Tx, outcome: RetryOutcome): void {
    const observer = this.observer;
    if (observer.outcome) tx.afterCommit(() => observer.outcome!(outcome));
  }

  private finish(tx: Tx, job: RetryJob, status: RetryJobStatus, outcome: string): void {
    Object.assign(job, { status, outcome, finishedAt: tx.clock.now(), nextAttemptAt: null, leaseToken: null, leaseExpiresAt: null });
  }

  private async closePayment(tx: Tx, job: RetryJob, reason: string): Promise<void> {
    const payment = await this.transitions.lock(tx, job.payment.id);
    if (OPEN_STATUSES.includes(payment.status)) await this.transitions.transition(tx, actor, payment.id, PaymentStatus.CANCELLED, { reason });
  }
}
