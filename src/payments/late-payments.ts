import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { systemActor, type Database } from '../platform/database/transaction';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import { PaymentGatewayName } from '../catalog/plan.entity';
import type { Logger } from '../platform/observability/logger';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import { LATE_REFUND_REQUESTED } from './own-actions';
import { recordAudit } from '../audit/audit.service';
import type { PaymentSync } from './payment-sync.service';
import type { TransitionListener } from './payment-transitions.service';

const LATE_FROM = [PaymentStatus.EXPIRED, PaymentStatus.CANCELLED];
const actor = systemActor('late-payments');

/**
 * A payment that succeeds after we expired or cancelled it is never silent: it raises LATE_PAYMENT.
 * Policy `honour` keeps it (it is delivered like any other); policy `refund` records the refund as
 * owed in the same transaction (refundRequestedAt, which also withholds delivery), and refunds it
 * at Stripe after commit with an idempotency key from our id. A crash before the refund leaves the
 * row marked, and the cleanup run retries it.
 */
export class LatePayments {
  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly sync: PaymentSync,
    private readonly alerts: AlertService,
    private readonly policy: 'honour' | 'refund',
    private readonly logger: Logger,
    /** The second gateway (issue 15); null when it is not configured. */
    private readonly cashfree: CashfreeGateway | null = null,
  ) {}

  /** A status-change listener (registered in order in src/app/services.ts). */
  readonly onTransition: TransitionListener = async (tx, { payment, from, to }) => {
    if (!LATE_FROM.includes(from) || (to !== PaymentStatus.SUCCEEDED && to !== PaymentStatus.AUTHORIZED)) return;
    const refund = this.policy === 'refund';
    if (refund) {
      payment.refundRequestedAt = tx.clock.now();
      payment.refundReason = `late payment: arrived after the payment was ${from.toLowerCase()}`;
      // Our record of the refund, before Stripe is asked: its charge.refunded echo raises no alert.
      recordAudit(tx, actor, { action: LATE_REFUND_REQUESTED, subjectType: 'payment', subjectId: payment.id, before: { status: from }, after: { amountMinor: payment.amountMinor }, note: payment.refundReason });
      tx.afterCommit(async () => {
        await this.refundOwed(payment.id);
      });
    }
    await this.alerts.raise(tx, {
      type: AlertType.LATE_PAYMENT,
      severity: AlertSeverity.MEDIUM,
      title: refund ? 'Late payment received: refunding it' : 'Late payment received: honoured',
      detail: `Payment ${payment.id} was ${from} when ${payment.amountMinor} ${payment.currency.toUpperCase()} arrived. Policy ${this.policy}: ${refund ? 'the payment is refunded and no access is given' : 'access is delivered'}.`,
      subjectType: 'payment',
      subjectId: payment.id,
    });
  };

  /** Refunds every payment marked as owed a refund (bounded). Returns how many were refunded. */
  async refundAllOwed(limit = 100): Promise<{ refunded: number; failed: number }> {
    const owed = await this.db.fork().find(Payment, { refundRequestedAt: { $ne: null }, status: PaymentStatus.SUCCEEDED }, { limit, orderBy: { refundRequestedAt: 'asc' } });
    let refunded = 0;
    let failed = 0;
    for (const payment of owed) {
      if (await this.refundOwed(payment.id)) refunded++;
      else failed++;
    }
    return { refunded, failed };
  }

  async refundOwed(paymentId: string): Promise<boolean> {
    const payment = await this.db.fork().findOne(Payment, paymentId);
    if (!payment?.refundRequestedAt || payment.status !== PaymentStatus.SUCCEEDED) return false;
    const cashfree = payment.gateway === PaymentGatewayName.CASHFREE;
    if (cashfree ? !this.cashfree : !payment.stripePaymentIntentId) return false;
    try {
      if (cashfree) {
        // Cashfree's refund_id is the key (unique per order): the same id on every retry, never a second refund.
        await this.cashfree!.createRefund({ orderId: payment.gatewayOrderId ?? payment.id, refundId: lateRefundId(payment.id), amountMinor: payment.amountMinor, note: payment.refundReason ?? 'late payment' });
      } else {
        await this.gateway.refundPaymentIntent(payment.stripePaymentIntentId!, null, payment.refundReason ?? 'late payment', `refund:${payment.id}:late`);
      }
      await this.db.transaction(async (tx) => {
        const locked = await tx.em.findOneOrFail(Payment, paymentId);
        await this.sync.recordRefund(tx, actor, locked, locked.amountMinor, locked.refundReason ?? 'late payment');
        locked.refundRequestedAt = null;
      });
      return true;
    } catch (error) {
      this.logger.warn({ err: error, paymentId }, 'late-payment refund failed; the cleanup run retries it');
      return false;
    }
  }
}

/** The Cashfree refund_id of a late payment's refund (alphanumeric, from our id, as `refund:<paymentId>:late` is at Stripe). */
export const lateRefundId = (paymentId: string): string => `late${paymentId.replace(/-/g, '')}`;
