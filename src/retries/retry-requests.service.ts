import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database } from '../platform/database/transaction';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { assertOffSessionGateway, type OffSessionPayments } from '../payments/off-session-payments';
import type { Payment } from '../payments/payment.entity';
import { PaymentKind } from '../payments/payment-kind';
import type { PaymentService } from '../payments/payment.service';
import { PaymentStatus } from '../payments/payment-status';
import { Topic } from '../platform/shared/topics';
import type { RetryBudget } from './retry-budget';
import { type CustomerNotifier, RetryEventType, type RetryEventPayload } from './retry-events';
import { RetryJob, RetryOrigin } from './retry-job.entity';
import { nextStep } from './retry-policy';
import type { RetryProcessor } from './retry-processor';
import type { RetryQueue } from './retry-queue.service';
import type { FailureDetails } from './retry-settlement';
import { RetryError } from './retry.errors';
import { classifyFailure, strategyFor, type RetryReason, type RetryStrategy } from './strategies';

export type QueueOutcome = 'QUEUED' | 'ALREADY_QUEUED' | 'NOT_RETRYABLE' | 'CUSTOMER_ACTION_NEEDED';

export interface QueueRetryInput {
  paymentId: string;
  error: { code: string | null; declineCode: string | null; adviceCode?: string | null; message: string | null; statusCode?: number | null };
}

export interface QueueRetryResult {
  outcome: QueueOutcome;
  job: RetryJob | null;
  reason: RetryReason;
  message: string;
}

/**
 * What operators and front ends ask of the queue: retry a payment that failed elsewhere
 * (queueRetry), or charge a saved card now and fall back to the queue (chargeWithRetry).
 */
export class RetryRequests {
  constructor(
    private readonly db: Database,
    private readonly payments: PaymentService,
    private readonly offSession: OffSessionPayments,
    private readonly gateway: PaymentGateway,
    private readonly queue: RetryQueue,
    private readonly processor: RetryProcessor,
    private readonly budget: RetryBudget,
    private readonly notifier: CustomerNotifier,
    private readonly jitter: number,
  ) {}

  async queueRetry(actor: Actor, input: QueueRetryInput): Promise<QueueRetryResult> {
    const payment = await this.payments.require(this.db.fork(), input.paymentId);
    assertOffSessionGateway(payment.gateway, `Payment ${payment.id}`);
    if (payment.status !== PaymentStatus.FAILED) throw RetryError.notRetryable(payment.id, payment.status);
    // Without an HTTP status the error is taken as an answer Stripe gave (not a lost connection).
    const failure: FailureDetails = { adviceCode: null, ...input.error, statusCode: input.error.statusCode ?? 402 };
    const strategy = strategyFor(failure);
    const existing = await this.queue.openJob(this.db.fork(), payment.id);
    if (existing) return { outcome: 'ALREADY_QUEUED', job: existing, reason: strategy.reason, message: `Already queued (job ${existing.id})` };
    if (strategy.customerMessage) return this.askCustomer(payment, failure, strategy.reason, strategy.customerMessage);
    const now = this.db.clock.now();
    const cardRetries = await this.budget.used(this.db.fork(), payment.stripePaymentMethodId, now);
    const step = nextStep({ strategy, retriesUsed: 0, now, deadline: null, cardRetries, cardBudget: this.budget.limit, jitter: this.jitter });
    if (step.kind !== 'retry') return { outcome: 'NOT_RETRYABLE', job: null, reason: strategy.reason, message: step.kind === 'exhausted' ? step.why : step.message };
    if (!payment.stripeCustomerId || !payment.stripePaymentMethodId) return { outcome: 'NOT_RETRYABLE', job: null, reason: strategy.reason, message: 'The payment has no saved card to charge off-session' };
    await this.closeCheckout(payment);
    return this.insertRetry(actor, payment.id, failure, strategy, step.at, step.retry);
  }

  /** Creates the payment and its job in one transaction, then charges at once; a retryable failure leaves it queued. */
  async chargeWithRetry(actor: Actor, input: { customerId: string; planId: string }): Promise<{ payment: Payment | null; job: RetryJob | null; message: string | null }> {
    await this.offSession.assertChargeable(this.db.fork(), input.planId);
    const card = await this.offSession.savedCard(this.db.fork(), input.customerId);
    if (!card) return { payment: null, job: null, message: 'The customer has no saved card: they must pay through checkout' };
    let jobId: string;
    try {
      jobId = await this.db.transaction(async (tx) => {
        const payment = await this.offSession.create(tx, actor, { ...input, kind: PaymentKind.OFF_SESSION, card });
        return (await this.queue.enqueueCharge(tx, { payment, origin: RetryOrigin.CHARGE })).id;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw RetryError.openPayment(input.customerId);
      throw error;
    }
    await this.processor.processNow(jobId);
    const em = this.db.fork();
    const job = await em.findOneOrFail(RetryJob, jobId);
    return { payment: await this.payments.require(em, job.payment.id), job, message: job.outcome ?? job.errorMessage };
  }

  private async insertRetry(actor: Actor, paymentId: string, failure: FailureDetails, strategy: RetryStrategy, at: Date, retry: number): Promise<QueueRetryResult> {
    try {
      const job = await this.db.transaction(async (tx) => {
        const payment = await this.payments.require(tx.em, paymentId);
        const created = await this.queue.enqueueRetry(tx, { payment, failure, strategy, nextAttemptAt: at });
        recordAudit(tx, actor, { action: 'retry.queue', subjectType: 'payment', subjectId: paymentId, after: { jobId: created.id, reason: strategy.reason, nextAttemptAt: at.toISOString() } });
        return created;
      });
      return { outcome: 'QUEUED', job, reason: strategy.reason, message: `Retry ${retry} of ${strategy.maxAttempts} at ${at.toISOString()}` };
    } catch (error) {
      // A concurrent queueRetry for the same payment won: the database allows one open job per payment.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      return { outcome: 'ALREADY_QUEUED', job: await this.queue.openJob(this.db.fork(), paymentId), reason: strategy.reason, message: 'Already queued' };
    }
  }

  /** Only the customer can fix it: no job, a CUSTOMER_ACTION_NEEDED event and a message to them. */
  private async askCustomer(payment: Payment, failure: FailureDetails, reason: RetryReason, message: string): Promise<QueueRetryResult> {
    await this.db.transaction(async (tx) => {
      const event: RetryEventPayload = {
        type: RetryEventType.CUSTOMER_ACTION_NEEDED, jobId: null, paymentId: payment.id, customerId: payment.customer.id, subscriptionId: null,
        status: null, attempts: 0, reason: classifyFailure(failure), errorCode: failure.code, declineCode: failure.declineCode, message,
        nextAttemptAt: null, amountMinor: payment.amountMinor, currency: payment.currency, at: tx.clock.now(),
      };
      tx.publish(Topic.RETRY_EVENT, event);
      this.notifier.notifyAfterCommit(tx, { customerId: payment.customer.id, jobId: null, amountMinor: payment.amountMinor, currency: payment.currency }, message);
    });
    return { outcome: 'CUSTOMER_ACTION_NEEDED', job: null, reason, message };
  }

  /** The customer must not be able to pay the same payment through its checkout while the queue charges it. */
  private async closeCheckout(payment: Payment): Promise<void> {
    if (payment.kind !== PaymentKind.CHECKOUT || !payment.stripeCheckoutSessionId) return;
    const session = await this.gateway.expireCheckoutSession(payment.stripeCheckoutSessionId, `expire:${payment.id}`);
    if (session.status === 'complete') throw RetryError.checkoutPaid(payment.id);
  }
}
