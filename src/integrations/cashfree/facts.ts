import type { StripeFact } from '../stripe/facts';
import { statedMinor } from './money';

/**
 * What a Cashfree webhook says happened, as a typed fact of the same kinds Stripe's facts use
 * (src/integrations/stripe/facts.ts), so one applier vocabulary serves both gateways. Pure: no
 * I/O, no clock. Money is converted here, at the edge: Cashfree's major units (19.99) become
 * minor units (1999), and a figure that does not convert is passed on as stated, for the money
 * checks (src/payments/event-money.ts) to refuse.
 *
 * Cashfree allows several payment attempts per order (each its own cf_payment_id) and only a
 * SUCCESS is final; a failure or a drop is about one attempt, and the order says what is true
 * now, so those facts are re-read (`reRead`).
 */

export const CASHFREE_FACT_EVENT_TYPES = [
  'PAYMENT_SUCCESS_WEBHOOK',
  'PAYMENT_FAILED_WEBHOOK',
  'PAYMENT_USER_DROPPED_WEBHOOK',
  'REFUND_STATUS_WEBHOOK',
  'DISPUTE_CREATED',
  'DISPUTE_CLOSED',
] as const;

/** How a Cashfree event names its payment: our order id (Recoup's payment id) and the tag we set. */
export interface CashfreeRef {
  paymentId: string | null;
  orderId: string | null;
}

type Kind<K extends StripeFact['kind']> = K;

interface FactBase {
  eventType: string;
  reRead: boolean;
}

interface PaymentFactBase extends FactBase {
  ref: CashfreeRef;
}

/** A payment attempt succeeded: final, applied from the event when its money fits. */
export interface CashfreePaymentSucceeded extends PaymentFactBase {
  kind: Kind<'PaymentSucceeded'>;
  reRead: false;
  cfPaymentId: string | null;
  money: { amountMinor: unknown; receivedMinor: unknown; currency: unknown };
}

/** An attempt failed, or the customer left the payment page (`dropped`): the order decides. */
export interface CashfreePaymentFailed extends PaymentFactBase {
  kind: Kind<'PaymentFailed'>;
  reRead: true;
  cfPaymentId: string | null;
  dropped: boolean;
  failureCode: string | null;
  failureMessage: string | null;
}

/** A refund was processed. One refund's amount, not a running total: the order's refunds are re-read. */
export interface CashfreeRefunded extends PaymentFactBase {
  kind: Kind<'Refunded'>;
  reRead: true;
  /** Our refund id (Recoup's Refund row id) when the refund is ours. */
  refundId: string | null;
  cfRefundId: string | null;
  money: { amountMinor: unknown; currency: unknown };
}

/** A refund Cashfree could not make (CANCELLED or FAILED): the money did not reach the customer. */
export interface CashfreeRefundFailed extends PaymentFactBase {
  kind: Kind<'RefundFailed'>;
  reRead: false;
  refundId: string | null;
  cfRefundId: string | null;
  failureReason: string;
  money: { amountMinor: unknown; currency: unknown };
}

export interface CashfreeDisputed extends PaymentFactBase {
  kind: Kind<'Disputed'>;
  reRead: false;
  disputeId: string;
  reason: string;
  money: { disputedMinor: unknown; currency: unknown };
}

/** `won`: the merchant won (the money stays); `lost`: the customer won; anything else as stated. */
export interface CashfreeDisputeClosed extends PaymentFactBase {
  kind: Kind<'DisputeClosed'>;
  reRead: false;
  disputeId: string;
  status: string;
  money: { disputedMinor: unknown; currency: unknown };
}

export interface CashfreeIgnored extends FactBase {
  kind: Kind<'Ignored'>;
  reRead: false;
  reason: string;
}

export type CashfreeFact =
  | CashfreePaymentSucceeded
  | CashfreePaymentFailed
  | CashfreeRefunded
  | CashfreeRefundFailed
  | CashfreeDisputed
  | CashfreeDisputeClosed
  | CashfreeIgnored;

type Loose = Record<string, unknown>;

const obj = (value: unknown): Loose => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {});
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null);
const currencyOf = (value: unknown): unknown => (typeof value === 'string' ? value.toLowerCase() : value);

function refOf(order: Loose): CashfreeRef {
  const tags = obj(order.order_tags);
  return { paymentId: text(tags.paymentId), orderId: text(order.order_id) };
}

/** Cashfree's dispute_status (sometimes sent quoted twice, as in its own samples) in our words. */
export function disputeOutcome(status: unknown): string {
  const raw = String(status ?? '').replace(/"/g, '').toUpperCase();
  if (raw.includes('MERCHANT_WON')) return 'won';
  if (raw.includes('CUSTOMER_WON')) return 'lost';
  return raw.toLowerCase() || 'unknown';
}

export function cashfreeFact(event: Loose): CashfreeFact {
  const eventType = String(event.type ?? '');
  const data = obj(event.data);
  switch (eventType) {
    case 'PAYMENT_SUCCESS_WEBHOOK': {
      const order = obj(data.order);
      const payment = obj(data.payment);
      if (payment.payment_status !== undefined && payment.payment_status !== 'SUCCESS') {
        return { kind: 'Ignored', eventType, reRead: false, reason: `a success webhook whose payment is ${String(payment.payment_status)}` };
      }
      const money = { amountMinor: statedMinor(order.order_amount), receivedMinor: statedMinor(payment.payment_amount), currency: currencyOf(payment.payment_currency ?? order.order_currency) };
      return { kind: 'PaymentSucceeded', eventType, reRead: false, ref: refOf(order), cfPaymentId: text(payment.cf_payment_id), money };
    }
    case 'PAYMENT_FAILED_WEBHOOK':
    case 'PAYMENT_USER_DROPPED_WEBHOOK': {
      const order = obj(data.order);
      const payment = obj(data.payment);
      const error = obj(data.error_details);
      const dropped = eventType === 'PAYMENT_USER_DROPPED_WEBHOOK';
      return {
        kind: 'PaymentFailed',
        eventType,
        reRead: true,
        ref: refOf(order),
        cfPaymentId: text(payment.cf_payment_id),
        dropped,
        failureCode: text(error.error_code) ?? (dropped ? 'user_dropped' : text(payment.payment_status)),
        failureMessage: text(error.error_description) ?? text(payment.payment_message) ?? (dropped ? 'the customer left the payment page' : null),
      };
    }
    case 'REFUND_STATUS_WEBHOOK': {
      const refund = obj(data.refund);
      const ref = { paymentId: null, orderId: text(refund.order_id) };
      const money = { amountMinor: statedMinor(refund.refund_amount), currency: currencyOf(refund.refund_currency) };
      const ids = { refundId: text(refund.refund_id), cfRefundId: text(refund.cf_refund_id) };
      const status = String(refund.refund_status ?? '');
      if (status === 'SUCCESS') return { kind: 'Refunded', eventType, reRead: true, ref, ...ids, money };
      if (status === 'CANCELLED' || status === 'FAILED') {
        const failureReason = `${status.toLowerCase()}: ${text(refund.status_description) ?? 'no reason given'}`;
        return { kind: 'RefundFailed', eventType, reRead: false, ref, ...ids, failureReason, money };
      }
      return { kind: 'Ignored', eventType, reRead: false, reason: `the refund is ${status || 'of no status'}, not settled` };
    }
    case 'DISPUTE_CREATED':
    case 'DISPUTE_CLOSED': {
      const dispute = obj(data.dispute);
      const order = obj(data.order_details);
      const ref = { paymentId: null, orderId: text(order.order_id) };
      const money = { disputedMinor: statedMinor(dispute.dispute_amount), currency: currencyOf(order.order_currency ?? dispute.dispute_currency) };
      const disputeId = text(dispute.dispute_id) ?? 'unknown';
      if (eventType === 'DISPUTE_CREATED') {
        const reason = text(dispute.reason_description) ?? text(dispute.reason_code) ?? 'no reason';
        return { kind: 'Disputed', eventType, reRead: false, ref, disputeId, reason, money };
      }
      return { kind: 'DisputeClosed', eventType, reRead: false, ref, disputeId, status: disputeOutcome(dispute.dispute_status), money };
    }
    default:
      return { kind: 'Ignored', eventType, reRead: false, reason: 'not a type Recoup acts on' };
  }
}

/**
 * Cashfree's webhooks carry no event id. The inbox's key is derived from what the event is about,
 * so a redelivery of the same event is a duplicate and a different event never is: one payment
 * attempt's outcome (its cf_payment_id), one refund's status, one dispute's status.
 */
export function cashfreeEventId(event: Loose): string | null {
  const type = text(event.type);
  const data = obj(event.data);
  if (!type) return null;
  if (type.startsWith('PAYMENT_')) {
    const attempt = text(obj(data.payment).cf_payment_id);
    const order = text(obj(data.order).order_id);
    return attempt && order ? `${type}:${order}:${attempt}` : null;
  }
  if (type === 'REFUND_STATUS_WEBHOOK') {
    const refund = obj(data.refund);
    const id = text(refund.cf_refund_id) ?? text(refund.refund_id);
    return id ? `${type}:${id}:${String(refund.refund_status ?? '')}` : null;
  }
  if (type.startsWith('DISPUTE_')) {
    const dispute = obj(data.dispute);
    const id = text(dispute.dispute_id);
    return id ? `${type}:${id}:${String(dispute.dispute_status ?? '').replace(/"/g, '')}:${String(dispute.updated_at ?? '')}` : null;
  }
  return null;
}
