import { LockMode } from '@mikro-orm/core';
import type { Actor, Tx } from '../platform/database/transaction';
import type { GatewayPaymentIntent } from '../integrations/stripe/payment-gateway';
import { isAppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
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
