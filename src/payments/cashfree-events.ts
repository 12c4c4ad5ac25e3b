import { subjectFingerprint, type AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { recordAudit } from '../audit/audit.service';
import { PaymentGatewayName } from '../catalog/plan.entity';
import type { GatewayEvent } from '../inbox/gateway-event.entity';
import type { CashfreeGateway, CashfreeOrder } from '../integrations/cashfree/cashfree.gateway';
import {
  cashfreeFact,
  type CashfreeDisputeClosed,
  type CashfreeDisputed,
  type CashfreeFact,
  type CashfreePaymentFailed,
  type CashfreePaymentSucceeded,
  type CashfreeRef,
  type CashfreeRefunded,
  type CashfreeRefundFailed,
} from '../integrations/cashfree/facts';
import { systemActor, type Tx } from '../platform/database/transaction';
import { annotateSpan, PAYMENT_ID } from '../platform/observability/spans';
import { isUuid } from '../platform/shared/ids';
import { checkEventMoney, describeProblems, onlyMismatches, type MoneyCheck } from './event-money';
import { ownRefundedMinor } from './own-actions';
import type { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import type { PaymentSync } from './payment-sync.service';
import { Refund, RefundStatus } from './refund.entity';

export const cashfreeActor = systemActor('cashfree-webhook');
const actor = cashfreeActor;
const upper = (currency: unknown): string => String(currency).toUpperCase();

/** What Cashfree's order status means for our payment; null: still payable, nothing to move. */
export function statusForOrder(order: Pick<CashfreeOrder, 'status'>): PaymentStatus | null {
  switch (order.status) {
    case 'PAID':
      return PaymentStatus.SUCCEEDED;
    case 'EXPIRED':
      return PaymentStatus.EXPIRED;
    case 'TERMINATED':
      return PaymentStatus.CANCELLED;
    default:
      return null;
  }
}

/**
 * Applies Cashfree webhooks to payments through the same PaymentSync and PaymentTransitions as
 * Stripe's (src/payments/stripe-events.ts), from the facts cashfreeFact() makes: a success is
 * final and applied from the event when its money fits the payment; a failure or a drop is one
 * attempt of an order that may since have been paid, so the order is re-read and followed; a
 * refund event names one refund, so the order's refunds are re-read and their total recorded
 * (totals only grow). The state machine's ranks make duplicates and late failures no-ops.
 */
export class CashfreeEventHandler {
  constructor(
    private readonly gateway: CashfreeGateway,
    private readonly sync: PaymentSync,
    private readonly alerts: AlertService,
  ) {}

  async apply(tx: Tx, record: GatewayEvent): Promise<string> {
    const fact: CashfreeFact = cashfreeFact(record.payload);
    switch (fact.kind) {
      case 'PaymentSucceeded':
        return this.withPayment(tx, fact.ref, (p) => this.succeeded(tx, p, fact), { lock: true });
      case 'PaymentFailed':
        return this.withPayment(tx, fact.ref, (p) => this.failed(tx, p, fact));
      case 'Refunded':
        return this.withPayment(tx, fact.ref, (p) => this.refunded(tx, p, fact));
      case 'RefundFailed':
        return this.withPayment(tx, fact.ref, (p) => this.refundFailed(tx, p, fact));
      case 'Disputed':
        return this.withPayment(tx, fact.ref, (p) => this.disputed(tx, p, fact));
      case 'DisputeClosed':
        return this.withPayment(tx, fact.ref, (p) => this.disputeClosed(tx, p, fact));
      case 'Ignored':
        return `ignored: ${fact.reason}`;
    }
  }

  private async succeeded(tx: Tx, payment: Payment, fact: CashfreePaymentSucceeded): Promise<string> {
    const said = checkEventMoney(payment, fact.money);
    if (said.ok) return this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: fact.eventType });
    // Rare: the event's figures do not fit, so Cashfree's order decides (unreachable throws: retried).
    const order = await this.gateway.fetchOrder(this.orderIdOf(payment));
    return this.followOrder(tx, payment, order, fact.eventType, said);
  }

  private async failed(tx: Tx, payment: Payment, fact: CashfreePaymentFailed): Promise<string> {
    const order = await this.gateway.fetchOrder(this.orderIdOf(payment));
    if (order.status !== 'ACTIVE') return this.followOrder(tx, payment, order, fact.eventType);
    // Still payable: this attempt failed (or was abandoned); the customer may try again in the same order.
    const outcome = await this.sync.moveTo(tx, actor, payment, PaymentStatus.FAILED, { reason: fact.eventType, failureCode: fact.failureCode, failureMessage: fact.failureMessage });
    if (!fact.dropped && payment.status === PaymentStatus.FAILED) {
      await this.raise(tx, payment, AlertType.PAYMENT_FAILED, AlertSeverity.HIGH, `Payment failed: ${this.money(payment)}`, fact.failureMessage ?? fact.failureCode ?? 'declined');
    }
    return outcome;
  }

  /**
   * The order as Cashfree has it now. Paid: its money is checked first; impossible figures record
   * nothing, another amount or currency is applied as Cashfree has it (the status follows the
   * gateway, as ever) with WEBHOOK_MONEY_MISMATCH. `said`: the check of the event that sent us here.
   */
  private async followOrder(tx: Tx, payment: Payment, order: CashfreeOrder, eventType: string, said?: MoneyCheck): Promise<string> {
    const target = statusForOrder(order);
    const where = `${eventType} for order ${order.orderId}${said ? `: the event said ${describeProblems(said)}` : ''}`;
    if (target !== PaymentStatus.SUCCEEDED) {
      if (said) await this.moneyAlert(tx, payment, 'Cashfree event disagreed with Cashfree', `${where}; Cashfree's order is ${order.status}. Nothing was recorded from the event.`);
      return target ? this.sync.moveTo(tx, actor, payment, target, { reason: `${eventType}; Cashfree's order is ${order.status}` }) : `no change: Cashfree's order is ${order.status}`;
    }
    const fresh = checkEventMoney(payment, { amountMinor: order.amountMinor ?? `unconvertible`, currency: order.currency });
    if (fresh.ok && !said) return this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: `${eventType}; Cashfree's order is PAID` });
    if (!onlyMismatches(fresh)) {
      await this.moneyAlert(tx, payment, 'Cashfree reports impossible payment figures', `${where}; Cashfree's order says ${describeProblems(fresh)}. Nothing was recorded.`);
      return `no change: the order's figures are impossible at Cashfree (${describeProblems(fresh)})`;
    }
    const outcome = await this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: `${eventType}; Cashfree's order is PAID` });
    const says = `${order.amountMinor} ${upper(order.currency)}, PAID`;
    await this.moneyAlert(
      tx,
      payment,
      fresh.ok ? 'Cashfree event disagreed with Cashfree' : 'Cashfree charged a different amount than the payment',
      fresh.ok ? `${where}. Cashfree's order agrees with the payment (${says}); it was applied.` : `${where}. Cashfree's order is ${says}: ${describeProblems(fresh)}. Its status was applied as usual; check the payment.`,
    );
    return `${outcome} (amount or currency did not fit the payment, alerted)`;
  }

  /** One refund processed: the order's refunds as Cashfree has them now give the total refunded. */
  private async refunded(tx: Tx, payment: Payment, fact: CashfreeRefunded): Promise<string> {
    const refunds = await this.gateway.fetchRefunds(this.orderIdOf(payment));
    const settled = refunds.filter((r) => r.status === 'SUCCESS');
    const total = settled.reduce<number | null>((sum, r) => (sum === null || r.amountMinor === null ? null : sum + r.amountMinor), 0);
    const currencies = [...new Set(settled.map((r) => r.currency))];
    const fresh = checkEventMoney(payment, { refundedMinor: total ?? 'unconvertible', ...(currencies.length > 0 ? { currency: currencies.length === 1 ? currencies[0] : currencies.join('+') } : {}) });
    if (!fresh.ok) {
      await this.moneyAlert(tx, payment, 'Cashfree reports impossible refund figures', `${fact.eventType} for refund ${fact.cfRefundId ?? fact.refundId}: Cashfree's refunds of order ${this.orderIdOf(payment)} say ${describeProblems(fresh)}. Nothing was recorded.`);
      return `no change: refund figures do not fit the payment (${describeProblems(fresh)})`;
    }
    if (total === 0) return `no change: Cashfree lists no processed refund of order ${this.orderIdOf(payment)}`;
    const ours = fact.refundId && isUuid(fact.refundId) ? await tx.em.findOne(Refund, { id: fact.refundId, payment: payment.id }) : null;
    const before = { status: payment.status, refundedMinor: payment.refundedMinor, refundStatus: ours?.status ?? null };
    if (ours && ours.status === RefundStatus.PENDING) Object.assign(ours, { status: RefundStatus.SUCCEEDED, completedAt: tx.clock.now(), failureMessage: null });
    const outcome = await this.sync.recordRefund(tx, actor, payment, total!, fact.eventType);
    if (ours && before.refundStatus === RefundStatus.PENDING) {
      recordAudit(tx, actor, {
        action: 'payment.refund',
        subjectType: 'payment',
        subjectId: payment.id,
        before,
        after: { status: payment.status, refundedMinor: payment.refundedMinor, refundId: ours.id, cfRefundId: fact.cfRefundId, amountMinor: ours.amountMinor },
        note: `${ours.reason} (settled by Cashfree: ${outcome})`,
      });
    }
    // A refund Recoup asked for is no news: its row was there first.
    if (payment.refundedMinor > (await ownRefundedMinor(tx.em, payment.id))) {
      const of = `${payment.refundedMinor} of ${payment.amountMinor} ${upper(payment.currency)}`;
      await this.raise(tx, payment, AlertType.PAYMENT_REFUNDED, AlertSeverity.MEDIUM, payment.refundedMinor < payment.amountMinor ? `Payment partly refunded: ${of}` : `Payment refunded: ${this.money(payment)}`, `${of} refunded at Cashfree`);
    }
    return outcome;
  }

  /**
   * A refund Cashfree could not make: the customer did not get the money. Ours and still PENDING
   * (Cashfree counts a refund only once processed, and so do we): it becomes FAILED and refundable
   * again. Ours and already counted: the total goes down (PaymentSync.recordRefundFailure). Either
   * way a HIGH REFUND_FAILED says to refund again. A redelivery changes nothing.
   */
  private async refundFailed(tx: Tx, payment: Payment, fact: CashfreeRefundFailed): Promise<string> {
    const ours = fact.refundId && isUuid(fact.refundId) ? await tx.em.findOne(Refund, { id: fact.refundId, payment: payment.id }) : null;
    const label = fact.refundId ?? fact.cfRefundId ?? 'unknown';
    let outcome: string;
    if (ours?.status === RefundStatus.FAILED) return `no change: refund ${label} already recorded as failed`;
    if (ours?.status === RefundStatus.SUCCEEDED) {
      const result = await this.sync.recordRefundFailure(tx, actor, payment, { gatewayRefundId: label, amountMinor: ours.amountMinor, reason: fact.failureReason });
      if (!result.changed) return result.outcome;
      Object.assign(ours, { status: RefundStatus.FAILED, failureMessage: fact.failureReason.slice(0, 500), completedAt: tx.clock.now() });
      outcome = result.outcome;
    } else if (ours) {
      Object.assign(ours, { status: RefundStatus.FAILED, failureMessage: fact.failureReason.slice(0, 500), completedAt: tx.clock.now() });
      recordAudit(tx, actor, { action: 'refund.failed', subjectType: 'payment', subjectId: payment.id, before: { refundStatus: RefundStatus.PENDING }, after: { refundStatus: RefundStatus.FAILED, refundId: ours.id, cfRefundId: fact.cfRefundId }, note: fact.failureReason });
      outcome = `refund ${label} failed (${fact.failureReason}): it never counted as refunded`;
    } else {
      outcome = `refund ${label} (not Recoup's) failed at Cashfree (${fact.failureReason}): nothing recorded`;
    }
    const amount = ours ? `${ours.amountMinor} ${upper(payment.currency)}` : `${String(fact.money.amountMinor)} ${upper(fact.money.currency)}`;
    await this.alerts.raise(tx, {
      type: AlertType.REFUND_FAILED,
      severity: AlertSeverity.HIGH,
      title: `Refund failed: the customer did not get ${amount} back; refund again`,
      detail: `Payment ${payment.id}: Cashfree refund ${label} failed (${fact.failureReason}); ${payment.refundedMinor} of ${payment.amountMinor} ${upper(payment.currency)} counts as refunded. Refund again (refundPayment).`,
      subjectType: 'payment',
      subjectId: payment.id,
    });
    return outcome;
  }

  /** A signed dispute is recorded even when its figures do not fit (access must follow the money back); the figures are alerted. */
  private async disputed(tx: Tx, payment: Payment, fact: CashfreeDisputed): Promise<string> {
    const said = checkEventMoney(payment, fact.money);
    const outcome = await this.sync.recordDispute(tx, actor, payment, fact.eventType);
    await this.raise(tx, payment, AlertType.PAYMENT_DISPUTED, AlertSeverity.CRITICAL, `Payment disputed: ${this.money(payment)}`, `Cashfree dispute ${fact.disputeId}: ${fact.reason} for ${String(fact.money.disputedMinor)} ${upper(fact.money.currency)}`);
    if (!said.ok) await this.moneyAlert(tx, payment, 'Cashfree dispute with figures that do not fit', `${fact.eventType} ${fact.disputeId}: ${describeProblems(said)}. The dispute was recorded; check it at Cashfree.`);
    return outcome;
  }

  private async disputeClosed(tx: Tx, payment: Payment, fact: CashfreeDisputeClosed): Promise<string> {
    const won = fact.status === 'won';
    if (!won && fact.status !== 'lost') return `no change: dispute ${fact.disputeId} closed as ${fact.status}`;
    const outcome = won
      ? await this.sync.recordDisputeWon(tx, actor, payment, fact.disputeId, `dispute won (${fact.disputeId})`)
      : await this.sync.recordDispute(tx, actor, payment, `dispute lost (${fact.disputeId})`);
    const note = won ? `Cashfree dispute ${fact.disputeId} won: the payment is ${payment.status} again.` : `Cashfree dispute ${fact.disputeId} lost: the payment stays ${payment.status} and access stays ended.`;
    await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.PAYMENT_DISPUTED, 'payment', payment.id), note, 'cashfree-webhook');
    return `${won ? 'dispute won' : 'dispute lost'}: ${outcome}`;
  }

  private money(payment: Payment): string {
    return `${payment.amountMinor} ${upper(payment.currency)}`;
  }

  private orderIdOf(payment: Payment): string {
    return payment.gatewayOrderId ?? payment.id;
  }

  /** The order id is our payment id (and its tag says so too); a Stripe payment is never matched. */
  private async withPayment(tx: Tx, ref: CashfreeRef, work: (payment: Payment) => Promise<string>, options: { lock?: boolean } = {}): Promise<string> {
    const candidate = ref.paymentId ?? ref.orderId;
    const found = await this.sync.find(tx, { paymentId: candidate && isUuid(candidate) ? candidate : null, gatewayOrderId: ref.orderId }, options);
    const payment = found?.gateway === PaymentGatewayName.CASHFREE ? found : null;
    if (payment) {
      annotateSpan(PAYMENT_ID, payment.id);
      // An order created just before a crash, its id never written back: it is ours all the same.
      payment.gatewayOrderId ??= ref.orderId ?? payment.id;
      return work(payment);
    }
    const label = ref.orderId ?? ref.paymentId ?? 'unknown';
    await this.alerts.raise(tx, {
      type: AlertType.UNMATCHED_GATEWAY_EVENT,
      severity: AlertSeverity.MEDIUM,
      title: 'Cashfree event for a payment Recoup does not know',
      detail: `No Cashfree payment matches order ${label}. Check the Cashfree dashboard; money may be unattributed.`,
      subjectType: 'gateway_object',
      subjectId: label,
    });
    return `ignored: no Cashfree payment matches order ${label}`;
  }

  private async raise(tx: Tx, payment: Payment, type: AlertType, severity: AlertSeverity, title: string, detail: string): Promise<void> {
    await this.alerts.raise(tx, {
      type,
      severity,
      title,
      detail: `Payment ${payment.id}: ${detail}`,
      subjectType: 'payment',
      subjectId: payment.id,
    });
  }

  private async moneyAlert(tx: Tx, payment: Payment, title: string, detail: string): Promise<void> {
    await this.alerts.raise(tx, {
      type: AlertType.WEBHOOK_MONEY_MISMATCH,
      severity: AlertSeverity.HIGH,
      title: `${title}: ${payment.amountMinor} ${upper(payment.currency)}`,
      detail: `Payment ${payment.id}: ${detail}`,
      subjectType: 'payment',
      subjectId: payment.id,
    });
  }
}
