import type { EntityManager } from '@mikro-orm/postgresql';
import { subjectFingerprint, type AlertService } from '../alerts/alert.service';
import { AlertType } from '../alerts/alert.types';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import { GatewayError } from '../integrations/stripe/gateway.errors';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { AppError } from '../platform/shared/errors';
import type { Logger } from '../platform/observability/logger';
import type { Payment } from './payment.entity';
import type { PaymentOperations } from './payment-operations.service';
import { PaymentOperationError } from './payment-operations.errors';
import { PaymentStatus } from './payment-status';
import { REFUND_FAILED_ACTION, type PaymentSync } from './payment-sync.service';
import type { PaymentTransitions } from './payment-transitions.service';
import { Refund, RefundStatus } from './refund.entity';

/**
 * Whether money can go back to the customer: a captured payment (SUCCEEDED, DISPUTED), or a
 * REFUNDED one whose refunded total is below its amount because a refund failed at Stripe (the
 * money is owed again: PaymentSync.recordRefundFailure lowers the total, the status stays). How
 * much may go is decided under the payment's lock (Refunds.reserve), never more than is left.
 */
export function isRefundable(payment: Pick<Payment, 'status' | 'amountMinor' | 'refundedMinor'>): boolean {
  if (payment.status === PaymentStatus.SUCCEEDED || payment.status === PaymentStatus.DISPUTED) return true;
  return payment.status === PaymentStatus.REFUNDED && payment.refundedMinor < payment.amountMinor;
}

export interface RefundOutcome {
  refund: Refund;
  payment: Payment;
}

/**
 * Full and partial refunds. The Refund row commits (PENDING) before Stripe is called, and its id
 * is the idempotency key, so a retry after a timeout replays the same refund instead of making a
 * second one. While a refund's outcome is unknown it stays PENDING and counts against what is left;
 * the next request for the payment first settles it with its own key, and a request for the same
 * amount is taken to be its retry. A full refund moves the payment to REFUNDED, which ends the
 * access it paid for (SubscriptionService).
 */
export class Refunds {
  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly sync: PaymentSync,
    private readonly operations: PaymentOperations,
    private readonly alerts: AlertService,
    private readonly logger: Logger,
  ) {}

  /** `amountMinor` null: everything that is left. */
  async refundPayment(actor: Actor, paymentId: string, amountMinor: number | null, reason: string): Promise<RefundOutcome> {
    if (amountMinor !== null && (!Number.isInteger(amountMinor) || amountMinor < 1)) throw AppError.badInput('amountMinor must be a positive integer (minor units)');
    if (!reason.trim() || reason.length > 500) throw AppError.badInput('reason must be 1 to 500 characters');
    const payment = await this.operations.require(paymentId);
    const intent = await this.operations.readThrough(payment);
    if (!intent) throw PaymentOperationError.noIntent(paymentId);
    if (!isRefundable(payment) || intent.status !== 'succeeded') throw PaymentOperationError.notRefundable(paymentId, payment.status, intent.status);
    for (const pending of await this.pending(this.db.fork(), paymentId)) {
      const settled = await this.execute(actor, pending, payment.stripePaymentIntentId ?? intent.id);
      if (amountMinor === pending.amountMinor) return settled;
    }
    const refund = await this.reserve(actor, paymentId, amountMinor, reason.trim(), intent.amountRefundedMinor);
    return this.execute(actor, refund, intent.id);
  }

  async refundsOf(em: EntityManager, paymentId: string): Promise<Refund[]> {
    return em.find(Refund, { payment: paymentId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  private pending(em: EntityManager, paymentId: string): Promise<Refund[]> {
    return em.find(Refund, { payment: paymentId, status: RefundStatus.PENDING }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** Under the payment's row lock, so two concurrent requests cannot both take what is left. */
  private async reserve(actor: Actor, paymentId: string, requested: number | null, reason: string, stripeRefunded: number): Promise<Refund> {
    return this.db.transaction(async (tx) => {
      const payment = await this.transitions.lock(tx, paymentId);
      const pendingMinor = (await this.pending(tx.em, paymentId)).reduce((sum, r) => sum + r.amountMinor, 0);
      const remaining = Math.max(0, payment.amountMinor - Math.max(payment.refundedMinor, stripeRefunded) - pendingMinor);
      const amount = requested ?? remaining;
      if (amount < 1 || amount > remaining) throw PaymentOperationError.overRefund(paymentId, amount, remaining);
      const refund = tx.em.create(Refund, { payment: paymentId, amountMinor: amount, currency: payment.currency, reason, requestedBy: actor.id });
      recordAudit(tx, actor, { action: 'refund.request', subjectType: 'payment', subjectId: paymentId, before: { refundedMinor: payment.refundedMinor }, after: { refundId: refund.id, amountMinor: amount, remainingMinor: remaining - amount }, note: reason });
      return refund;
    });
  }

  private async execute(actor: Actor, refund: Refund, paymentIntentId: string): Promise<RefundOutcome> {
    try {
      const done = await this.gateway.refundPaymentIntent(paymentIntentId, refund.amountMinor, refund.reason, refund.idempotencyKey);
      return await this.recordSuccess(actor, refund.id, done.id, await this.refundedAtStripe(paymentIntentId));
    } catch (error) {
      // A refusal Stripe will repeat (over-refund, charge gone) is final; a timeout or 5xx is not
      // known to have failed, so the refund stays PENDING for the retry to settle.
      if (error instanceof GatewayError && !error.retryable) await this.recordFailure(refund.id, error.message);
      throw error;
    }
  }

  /** Stripe's total refunded after our refund; null when it cannot be read now (we add ours instead). */
  private async refundedAtStripe(paymentIntentId: string): Promise<number | null> {
    try {
      return (await this.gateway.retrievePaymentIntent(paymentIntentId)).amountRefundedMinor;
    } catch (error) {
      this.logger.warn({ err: error, paymentIntentId }, 'could not re-read the refunded total; using our own');
      return null;
    }
  }

  private async recordSuccess(actor: Actor, refundId: string, stripeRefundId: string, stripeTotal: number | null): Promise<RefundOutcome> {
    return this.db.transaction(async (tx) => {
      const refund = await tx.em.findOneOrFail(Refund, refundId);
      const payment = await this.transitions.lock(tx, refund.payment.id);
      const before = { status: payment.status, refundedMinor: payment.refundedMinor };
      Object.assign(refund, { status: RefundStatus.SUCCEEDED, stripeRefundId, completedAt: tx.clock.now(), failureMessage: null });
      await tx.em.flush();
      const ours = (await tx.em.find(Refund, { payment: payment.id, status: RefundStatus.SUCCEEDED })).reduce((sum, r) => sum + r.amountMinor, 0);
      const outcome = await this.sync.recordRefund(tx, actor, payment, stripeTotal ?? Math.max(payment.refundedMinor, ours), `refund: ${refund.reason}`);
      recordAudit(tx, actor, { action: 'payment.refund', subjectType: 'payment', subjectId: payment.id, before, after: { status: payment.status, refundedMinor: payment.refundedMinor, refundId: refund.id, stripeRefundId, amountMinor: refund.amountMinor }, note: `${refund.reason} (${outcome})` });
      await this.resolveRefundFailed(tx, actor, payment);
      return { refund, payment };
    });
  }

  /**
   * A refund that failed at Stripe lowered the refunded total (REFUND_FAILED, "refund again"). Once
   * a refund has brought the total back to where it stood before the latest failure, the customer
   * has the money that did not reach them: the alert is resolved in the same transaction.
   */
  private async resolveRefundFailed(tx: Tx, actor: Actor, payment: Payment): Promise<void> {
    const rows: Array<{ before_minor: number | null }> = await tx.em.execute(
      `select (before->>'refundedMinor')::int as before_minor from audit_entries where subject_type = 'payment' and subject_id = ? and action = ? order by at desc, created_at desc limit 1`,
      [payment.id, REFUND_FAILED_ACTION],
    );
    const owedBack = rows[0]?.before_minor;
    if (owedBack === undefined || owedBack === null || payment.refundedMinor < owedBack) return;
    const note = `refunded again by ${actor.id}: ${payment.refundedMinor} of ${payment.amountMinor} ${payment.currency.toUpperCase()} refunded`;
    await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.REFUND_FAILED, 'payment', payment.id), note, 'refunds');
  }

  private async recordFailure(refundId: string, message: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const refund = await tx.em.findOneOrFail(Refund, refundId);
      Object.assign(refund, { status: RefundStatus.FAILED, failureMessage: message.slice(0, 500), completedAt: tx.clock.now() });
    });
  }
}
