import { LockMode } from '@mikro-orm/core';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Tx } from '../platform/database/transaction';
import type { GatewayPaymentIntent } from '../integrations/stripe/payment-gateway';
import { isAppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import { Refund, RefundStatus } from './refund.entity';
import type { PaymentRow, PaymentTransitions, SucceedItem, TransitionOptions } from './payment-transitions.service';

/** Stripe's PaymentIntent status in our terms; null while the payment is still in flight. */
export function statusForIntent(intent: GatewayPaymentIntent): PaymentStatus | null {
  switch (intent.status) {
    case 'succeeded':
      return PaymentStatus.SUCCEEDED;
    case 'requires_capture':
      return PaymentStatus.AUTHORIZED;
    case 'canceled':
      return PaymentStatus.CANCELLED;
    case 'requires_payment_method':
      return intent.lastErrorCode || intent.lastErrorMessage ? PaymentStatus.FAILED : null;
    default:
      return null;
  }
}

export interface PaymentRef {
  paymentId?: string | null;
  stripePaymentIntentId?: string | null;
  stripeCheckoutSessionId?: string | null;
  /** The order at a gateway other than Stripe (Payment.gatewayOrderId). */
  gatewayOrderId?: string | null;
}

/**
 * Applies what the gateway says happened to our payments. Gateway-agnostic: the Stripe event
 * mapper in src/payments/stripe-events.ts translates events into these calls. Each method runs inside the
 * webhook's transaction and returns a short outcome for the GatewayEvent record.
 */
export class PaymentSync {
  constructor(private readonly transitions: PaymentTransitions) {}

  /**
   * `lock`: take the row FOR UPDATE at once, for a caller that goes straight on to change it (the
   * transition then needs no second read). Not for a caller that asks the gateway first: the lock
   * would be held across that call.
   */
  async find(tx: Tx, ref: PaymentRef, options: { lock?: boolean } = {}): Promise<Payment | null> {
    const or: Array<Record<string, string>> = [];
    if (ref.paymentId) or.push({ id: ref.paymentId });
    if (ref.stripePaymentIntentId) or.push({ stripePaymentIntentId: ref.stripePaymentIntentId });
    if (ref.stripeCheckoutSessionId) or.push({ stripeCheckoutSessionId: ref.stripeCheckoutSessionId });
    if (ref.gatewayOrderId) or.push({ gatewayOrderId: ref.gatewayOrderId });
    if (or.length === 0) return null;
    // A metadata id that is not a UUID would make Postgres reject the whole query.
    const valid = or.filter((c) => !c.id || isUuid(c.id));
    if (valid.length === 0) return null;
    if (!options.lock) return tx.em.findOne(Payment, { $or: valid });
    const payment = await tx.em.findOne(Payment, { $or: valid }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (payment) tx.markLocked(Payment.name, payment.id);
    return payment;
  }

  attachIntent(payment: Payment, stripePaymentIntentId: string | null): void {
    if (stripePaymentIntentId && !payment.stripePaymentIntentId) payment.stripePaymentIntentId = stripePaymentIntentId;
  }

  async syncToIntent(tx: Tx, actor: Actor, payment: Payment, intent: GatewayPaymentIntent, reason: string): Promise<string> {
    this.attachIntent(payment, intent.id);
    payment.stripeCustomerId ??= intent.stripeCustomerId;
    payment.stripePaymentMethodId ??= intent.paymentMethodId;
    const target = statusForIntent(intent);
    if (!target) return `no change: intent ${intent.status}`;
    return this.moveTo(tx, actor, payment, target, {
      reason,
      failureCode: intent.lastErrorCode,
      failureMessage: intent.lastErrorMessage,
    });
  }

  async recordRefund(tx: Tx, actor: Actor, payment: Payment, refundedMinor: number, reason: string): Promise<string> {
    // Refund totals only grow; an older event carrying a smaller total changes nothing.
    payment.refundedMinor = Math.max(payment.refundedMinor, refundedMinor);
    if (payment.refundedMinor < payment.amountMinor) return `partial refund recorded: ${payment.refundedMinor}`;
    return this.moveTo(tx, actor, payment, PaymentStatus.REFUNDED, { reason });
  }

  /**
   * A dispute is about money Stripe captured. If our record is not paid yet (the success event is
   * late), the dispute is noted on the row and applied the moment the payment succeeds.
   */
  async recordDispute(tx: Tx, actor: Actor, payment: Payment, reason: string): Promise<string> {
    if (payment.status === PaymentStatus.SUCCEEDED) return this.moveTo(tx, actor, payment, PaymentStatus.DISPUTED, { reason });
    if (payment.status === PaymentStatus.DISPUTED || payment.status === PaymentStatus.REFUNDED) return `no change: already ${payment.status}`;
    payment.disputedAt ??= tx.clock.now();
    return `dispute noted: applied once the payment succeeds (it is ${payment.status})`;
  }

  /**
   * A dispute closed in our favour (won, or an inquiry closed with no chargeback): a DISPUTED
   * payment is paid again, DISPUTED -> SUCCEEDED through PaymentTransitions, so its listeners give
   * access back. disputedAt stays (the dispute is history, as are its transitions in the audit).
   * Not moveTo, which refuses that change on purpose: a late success is not a dispute won.
   * A dispute only noted before the success (recordDispute) is forgotten, so the success, when it
   * comes, is not taken on to DISPUTED. Anything else (already SUCCEEDED, REFUNDED) changes nothing.
   */
  async recordDisputeWon(tx: Tx, actor: Actor, payment: Payment, disputeId: string, reason: string): Promise<string> {
    const locked = await this.transitions.lock(tx, payment.id);
    if (locked.status === PaymentStatus.DISPUTED) {
      const result = await this.transitions.transition(tx, actor, locked.id, PaymentStatus.SUCCEEDED, { reason });
      return result.outcome === 'applied' ? `${result.from} -> ${PaymentStatus.SUCCEEDED}` : `${result.outcome}: already ${result.payment.status}`;
    }
    const noted = locked.disputedAt && locked.status !== PaymentStatus.SUCCEEDED && locked.status !== PaymentStatus.REFUNDED;
    if (!noted) return `no change: the payment is ${locked.status}, not DISPUTED`;
    recordAudit(tx, actor, {
      action: 'payment.dispute.forget',
      subjectType: 'payment',
      subjectId: locked.id,
      before: { disputedAt: locked.disputedAt!.toISOString() },
      after: { disputedAt: null, disputeId },
      note: reason,
    });
    locked.disputedAt = null;
    return `dispute noted before the success forgotten (${reason}; the payment is ${locked.status})`;
  }

  /**
   * A refund the gateway reported failed: the money did not reach the customer and is owed again,
   * so the refunded total drops by its amount (not below 0). The status does not move back: a
   * REFUNDED payment stays REFUNDED (the state machine has no way back, and its access stays
   * ended). Our Refund row for it, if it is ours, becomes FAILED with the reason. Once per
   * gateway refund (its audit entry is the key): a second event about the same failure changes
   * nothing. `amountMinor` null: the event's amount did not fit; ours is used if the refund is
   * ours, otherwise the total is left as it is.
   */
  async recordRefundFailure(
    tx: Tx,
    actor: Actor,
    payment: Payment,
    failure: { gatewayRefundId: string; amountMinor: number | null; reason: string },
  ): Promise<{ changed: boolean; outcome: string; refundedMinor: number; loweredBy: number }> {
    const locked = await this.transitions.lock(tx, payment.id);
    if (await refundFailureRecorded(tx, locked.id, failure.gatewayRefundId)) {
      return { changed: false, outcome: `no change: refund ${failure.gatewayRefundId} already recorded as failed`, refundedMinor: locked.refundedMinor, loweredBy: 0 };
    }
    const ours = await tx.em.findOne(Refund, { stripeRefundId: failure.gatewayRefundId, payment: locked.id });
    const amount = failure.amountMinor ?? ours?.amountMinor ?? 0;
    const before = { status: locked.status, refundedMinor: locked.refundedMinor, refundStatus: ours?.status ?? null };
    locked.refundedMinor = Math.max(0, locked.refundedMinor - amount);
    if (ours) Object.assign(ours, { status: RefundStatus.FAILED, failureMessage: failure.reason.slice(0, 500), completedAt: tx.clock.now() });
    const loweredBy = before.refundedMinor - locked.refundedMinor;
    recordAudit(tx, actor, {
      action: REFUND_FAILED_ACTION,
      subjectType: 'payment',
      subjectId: locked.id,
      before,
      after: { status: locked.status, refundedMinor: locked.refundedMinor, refundStatus: ours ? RefundStatus.FAILED : null, stripeRefundId: failure.gatewayRefundId, refundId: ours?.id ?? null, amountMinor: amount },
      note: failure.reason,
    });
    return { changed: true, outcome: `refund ${failure.gatewayRefundId} failed (${failure.reason}): refunded ${before.refundedMinor} -> ${locked.refundedMinor}`, refundedMinor: locked.refundedMinor, loweredBy };
  }

  /** Many plain successes at once (the inbox's batch path): see PaymentTransitions.succeedMany. */
  succeedMany(tx: Tx, actor: Actor, items: SucceedItem[]): Promise<PaymentRow[]> {
    return this.transitions.succeedMany(tx, actor, items);
  }

  /** A refused transition from a gateway event is recorded, not retried: redelivery cannot change it. */
  async moveTo(tx: Tx, actor: Actor, payment: Payment, target: PaymentStatus, options: TransitionOptions): Promise<string> {
    // "It was paid" (a late or redelivered success, a sync) is not "the dispute was won".
    if (payment.status === PaymentStatus.DISPUTED && target === PaymentStatus.SUCCEEDED) return 'no change: already DISPUTED';
    try {
      const result = await this.transitions.transition(tx, actor, payment.id, target, options);
      // A full refund delivered before the success (events out of order) was recorded on the row; finish it now.
      const refundedFirst = target === PaymentStatus.SUCCEEDED && payment.refundedMinor > 0 && payment.refundedMinor >= payment.amountMinor;
      if (result.outcome === 'applied' && refundedFirst) {
        await this.transitions.transition(tx, actor, payment.id, PaymentStatus.REFUNDED, { reason: 'refund recorded before the payment succeeded' });
        return `${result.from} -> ${target} -> ${PaymentStatus.REFUNDED}`;
      }
      // Likewise a dispute noted before the success (recordDispute).
      if (result.outcome === 'applied' && target === PaymentStatus.SUCCEEDED && payment.disputedAt) {
        await this.transitions.transition(tx, actor, payment.id, PaymentStatus.DISPUTED, { reason: 'dispute recorded before the payment succeeded' });
        return `${result.from} -> ${target} -> ${PaymentStatus.DISPUTED}`;
      }
      if (result.outcome === 'applied') return `${result.from} -> ${target}`;
      return `${result.outcome}: already ${result.payment.status}`;
    } catch (error) {
      if (isAppError(error) && error.code === 'INVALID_TRANSITION') return `refused: ${error.message}`;
      throw error;
    }
  }
}

/** The audit action of a refund the gateway reported failed (PaymentSync.recordRefundFailure). */
export const REFUND_FAILED_ACTION = 'payment.refund.failed';

/** Whether this gateway refund's failure was applied to the payment; with no id, whether any was. */
export async function refundFailureRecorded(tx: Pick<Tx, 'em'>, paymentId: string, gatewayRefundId?: string): Promise<boolean> {
  const rows: unknown[] = await tx.em.execute(
    `select 1 from audit_entries where subject_type = 'payment' and subject_id = ? and action = ? and (?::text is null or after->>'stripeRefundId' = ?) limit 1`,
    [paymentId, REFUND_FAILED_ACTION, gatewayRefundId ?? null, gatewayRefundId ?? null],
  );
  return rows.length > 0;
}
