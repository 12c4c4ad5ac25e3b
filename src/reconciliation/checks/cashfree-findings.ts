import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import type { CashfreeReconEvent } from '../../integrations/cashfree/recon';
import type { CashfreePaymentFacts } from '../../payments/payment-lookup';
import { FindingType } from '../reconciliation-finding.entity';
import type { Finding } from './check.types';

/** The findings of the Cashfree checks: the same types and alerts as Stripe's, in Cashfree's words. */

const money = (minor: number | null, currency: string): string => `${minor ?? '?'} ${currency.toUpperCase()}`;

export function cashfreeOutOfSync(payment: CashfreePaymentFacts, why: string, action: string, data: Record<string, unknown>): Finding {
  return {
    type: FindingType.PAYMENT_OUT_OF_SYNC,
    subjectType: 'payment',
    subjectId: payment.id,
    detail: why,
    action,
    data: { gateway: 'CASHFREE', ourStatus: payment.status, ourRefundedMinor: payment.refundedMinor, orderId: payment.gatewayOrderId ?? payment.id, ...data },
    raise: {
      type: AlertType.PAYMENT_OUT_OF_SYNC,
      severity: AlertSeverity.HIGH,
      title: `Payment out of sync with Cashfree: ${money(payment.amountMinor, payment.currency)}`,
      detail: `Payment ${payment.id} / Cashfree order ${payment.gatewayOrderId ?? payment.id}: ${why}. Check it at Cashfree, then run syncPaymentWithGateway.`,
      subjectType: 'payment',
      subjectId: payment.id,
    },
  };
}

/** A missed webhook the sync repaired: no alert, the run counts it. */
export function cashfreeSynced(payment: CashfreePaymentFacts, why: string, after: { status: string; refundedMinor: number }): Finding {
  return {
    type: FindingType.MISSED_WEBHOOK,
    subjectType: 'payment',
    subjectId: payment.id,
    detail: `Cashfree was ahead (${why}): synced, ours is now ${after.status}, ${after.refundedMinor} refunded`,
    action: 'synced',
    data: { gateway: 'CASHFREE', before: { status: payment.status, refundedMinor: payment.refundedMinor }, after, orderId: payment.gatewayOrderId ?? payment.id },
  };
}

/** The subject of a Cashfree payment with no payment of ours. */
export const cashfreePaymentSubject = (event: Pick<CashfreeReconEvent, 'cfPaymentId' | 'orderId'>): string => event.cfPaymentId ?? `order:${event.orderId ?? 'unknown'}`;

export function unknownCashfreePayment(event: CashfreeReconEvent): Finding {
  const subject = cashfreePaymentSubject(event);
  return {
    type: FindingType.UNKNOWN_GATEWAY_PAYMENT,
    subjectType: 'cashfree_payment',
    subjectId: subject,
    detail: `succeeded at Cashfree with no payment of ours: order ${event.orderId ?? 'none'} is not a Cashfree payment of Recoup's`,
    action: 'alerted',
    data: { gateway: 'CASHFREE', orderId: event.orderId, cfPaymentId: event.cfPaymentId, amountMinor: event.amountMinor, currency: event.currency, metadataPaymentId: event.paymentId, time: event.time?.toISOString() ?? null },
    raise: {
      type: AlertType.UNKNOWN_GATEWAY_PAYMENT,
      severity: AlertSeverity.CRITICAL,
      title: `Cashfree payment Recoup has no record of: ${money(event.amountMinor, event.currency)}`,
      detail: `Cashfree payment ${event.cfPaymentId ?? '?'} on order ${event.orderId ?? '?'} (${event.time?.toISOString() ?? 'no time'}) succeeded, but no payment of ours has that order. Find whose money it is, then attach or refund it.`,
      subjectType: 'cashfree_payment',
      subjectId: subject,
    },
  };
}

export function missingCashfreePayment(payment: CashfreePaymentFacts, orderStatus: string): Finding {
  const why = `ours is ${payment.status} but Cashfree lists no payment for order ${payment.gatewayOrderId ?? payment.id} (the order is ${orderStatus})`;
  return {
    type: FindingType.MISSING_PAYMENT,
    subjectType: 'payment',
    subjectId: payment.id,
    detail: why,
    action: 'alerted',
    data: { gateway: 'CASHFREE', ourStatus: payment.status, orderStatus, amountMinor: payment.amountMinor, currency: payment.currency },
    raise: {
      type: AlertType.MISSING_PAYMENT,
      severity: AlertSeverity.CRITICAL,
      title: `Paid at Recoup, no payment at Cashfree: ${money(payment.amountMinor, payment.currency)}`,
      detail: `Payment ${payment.id}: ${why}. Access may have been given without money; check the order at Cashfree, then end the access or find the payment.`,
      subjectType: 'payment',
      subjectId: payment.id,
    },
  };
}
