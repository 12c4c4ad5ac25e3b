import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, Database } from '../platform/database/transaction';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { CashfreeGateway, CashfreeOrder } from '../integrations/cashfree/cashfree.gateway';
import { PaymentGatewayName } from '../catalog/plan.entity';
import { GatewayError } from '../integrations/stripe/gateway.errors';
import { AppError, isAppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Payment } from './payment.entity';
import { PaymentError } from './payment.errors';
import { OPEN_STATUSES, PaymentStatus } from './payment-status';
import type { PaymentSync } from './payment-sync.service';
import type { PaymentTransitions } from './payment-transitions.service';

export type CloseOutcome = 'closed' | 'found_paid' | 'not_open';

export interface PendingView {
  payment: Payment;
  ageMinutes: number;
  minutesRemaining: number;
  stale: boolean;
}

/**
 * Pending (open, still payable) payments: how old they are, and closing them for real. Closing
 * first expires the Stripe Checkout Session, so nobody can pay a payment we consider dead; if
 * Stripe says the session was already paid, the payment is honoured instead (and delivered).
 */
export class PendingPayments {
  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly sync: PaymentSync,
    readonly expiryMinutes: number,
    /** The second gateway (issue 15); null when it is not configured. */
    private readonly cashfree: CashfreeGateway | null = null,
  ) {}

  view(payment: Payment, now = this.db.clock.now()): PendingView {
    const ageMs = now.getTime() - payment.createdAt.getTime();
    const remainingMs = this.expiryMinutes * 60_000 - ageMs;
    return {
      payment,
      ageMinutes: Math.max(0, Math.floor(ageMs / 60_000)),
      minutesRemaining: Math.max(0, Math.ceil(remainingMs / 60_000)),
      stale: remainingMs <= 0,
    };
  }

  /** Open payments created before this are stale. */
  staleCutoff(): Date {
    return new Date(this.db.clock.now().getTime() - this.expiryMinutes * 60_000);
  }

  async openFor(em: EntityManager, customerId: string): Promise<Payment[]> {
    return em.find(Payment, { customer: customerId, status: { $in: [...OPEN_STATUSES] } }, { orderBy: { createdAt: 'asc' } });
  }

  /** Expires (stale) or cancels (customer, operator) an open payment, idempotently. */
  async close(actor: Actor, paymentId: string, to: PaymentStatus.EXPIRED | PaymentStatus.CANCELLED, reason: string): Promise<{ payment: Payment; outcome: CloseOutcome }> {
    const payment = await this.require(this.db.fork(), paymentId);
    if (!OPEN_STATUSES.includes(payment.status)) return { payment, outcome: 'not_open' };
    if (payment.stripeCheckoutSessionId) {
      const session = await this.gateway.expireCheckoutSession(payment.stripeCheckoutSessionId, `expire:${payment.id}`);
      if (session.status === 'complete') return { payment: await this.honour(actor, payment.id, session), outcome: 'found_paid' };
    }
    if (payment.gateway === PaymentGatewayName.CASHFREE && this.cashfree) {
      // Terminating is Cashfree's "expire": nobody can pay the order after it. A payment that won the race is honoured.
      const order = await this.terminateCashfreeOrder(payment);
      if (order?.status === 'PAID') return { payment: await this.honourCashfree(actor, payment.id, order), outcome: 'found_paid' };
    }
    try {
      const result = await this.db.transaction((tx) => this.transitions.transition(tx, actor, paymentId, to, { reason }));
      return { payment: result.payment, outcome: result.outcome === 'applied' ? 'closed' : 'not_open' };
    } catch (error) {
      // Closed by someone else while Stripe answered (the cleanup expired it, the customer cancelled it).
      if (isAppError(error) && error.code === 'INVALID_TRANSITION') return { payment: await this.require(this.db.fork(), paymentId), outcome: 'not_open' };
      throw error;
    }
  }

  async require(em: EntityManager, paymentId: string): Promise<Payment> {
    const payment = isUuid(paymentId) ? await em.findOne(Payment, { id: paymentId }) : null;
    if (!payment) throw PaymentError.notFound(paymentId);
    return payment;
  }

  assertOwner(payment: Payment, customerId: string | null): void {
    // A customer asking about someone else's payment learns nothing, not even that it exists.
    if (customerId && payment.customer.id !== customerId) throw PaymentError.notFound(payment.id);
  }

  /**
   * The order's id is our payment id, so it is terminated even when its id was never recorded (a
   * process killed between Cashfree's answer and our commit). Null: Cashfree has no such order
   * (killed before it was created), so there is nothing anyone could pay.
   */
  private async terminateCashfreeOrder(payment: Payment): Promise<CashfreeOrder | null> {
    try {
      return await this.cashfree!.terminateOrder(payment.gatewayOrderId ?? payment.id);
    } catch (error) {
      if (error instanceof GatewayError && error.statusCode === 404) return null;
      throw error;
    }
  }

  /** The Cashfree order was paid after all: SUCCEEDED, as Cashfree has it (a different amount is its success all the same: the webhook's money checks alert on it). */
  private async honourCashfree(actor: Actor, paymentId: string, order: CashfreeOrder): Promise<Payment> {
    return this.db.transaction(async (tx) => {
      const payment = await this.transitions.lock(tx, paymentId);
      await this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: `Cashfree order ${order.orderId} was already paid when we closed it` });
      return payment;
    });
  }

  /** The session was paid after all: follow Stripe (SUCCEEDED, or AUTHORIZED under manual capture). */
  private async honour(actor: Actor, paymentId: string, session: { paymentIntentId: string | null; paymentStatus: string }): Promise<Payment> {
    const intent = session.paymentIntentId ? await this.gateway.retrievePaymentIntent(session.paymentIntentId) : null;
    return this.db.transaction(async (tx) => {
      const payment = await this.transitions.lock(tx, paymentId);
      if (intent) await this.sync.syncToIntent(tx, actor, payment, intent, 'checkout session was already paid when we expired it');
      else if (session.paymentStatus === 'paid') await this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: 'checkout session already paid' });
      else throw AppError.conflict(`Payment ${paymentId}: session complete but not paid`);
      return payment;
    });
  }
}
