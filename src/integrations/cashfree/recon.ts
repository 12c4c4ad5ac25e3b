import type { GetAllSettlementsResponseDataInner, ReconEntityDataInner } from 'cashfree-pg';
import type { GatewayPayout } from '../stripe/payment-gateway';
import { toMinor } from './money';

/**
 * Cashfree's reconciliation lists in our words (pure): the PG reconciliation (POST /recon: one
 * row per payment, refund, dispute… event) and the settlements (POST /settlements: Cashfree's
 * payouts to the merchant's bank). Both are paged by an opaque cursor, not by object id.
 */

export interface CashfreeReconEvent {
  /** Cashfree's event id (unique per event). */
  eventId: string;
  /** PAYMENT, REFUND, REFUND_REVERSAL, DISPUTE, CHARGEBACK, … */
  type: string;
  /** SUCCESS, FAILED, PENDING, CANCELLED. */
  status: string;
  /** null when Cashfree's figure is not a two-decimal amount. */
  amountMinor: number | null;
  currency: string;
  /** null when Cashfree sent no parseable time. */
  time: Date | null;
  /** Ours when the order is ours: the payment id. */
  orderId: string | null;
  orderAmountMinor: number | null;
  /** The order_tags.paymentId we set. */
  paymentId: string | null;
  cfPaymentId: string | null;
  /** REFUND events: the refund_id (ours for a refund Recoup made). */
  refundId: string | null;
}

export interface CashfreePage<T> {
  data: T[];
  /** Where the next page starts; null: this was the last one. */
  cursor: string | null;
}

export interface CashfreeListQuery {
  start: Date;
  end: Date;
  cursor: string | null;
  limit: number;
}

const text = (value: unknown): string | null => (value === undefined || value === null || value === '' ? null : String(value));

function time(value: unknown): Date | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  // Cashfree writes "2024-01-10T11:12:13+05:30" and at times "2024-01-10 11:12:13" (IST).
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(value.trim()) ? `${value.trim().replace(' ', 'T')}+05:30` : value;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function mapReconEvent(row: ReconEntityDataInner): CashfreeReconEvent {
  const event = row.event_details ?? {};
  const order = row.order_details ?? {};
  const payment = row.payment_details ?? {};
  const tags = (order.order_tags ?? {}) as Record<string, unknown>;
  return {
    eventId: text(event.event_id) ?? `${text(order.order_id) ?? 'unknown'}:${text(event.event_type) ?? 'event'}:${text(event.event_time) ?? ''}`,
    type: String(event.event_type ?? 'OTHER').toUpperCase(),
    status: String(event.event_status ?? payment.status ?? 'UNKNOWN').toUpperCase(),
    amountMinor: toMinor(event.event_amount ?? payment.payment_amount),
    currency: String(event.event_currency ?? payment.payment_currency ?? order.order_currency ?? '').toLowerCase(),
    time: time(event.event_time) ?? time(payment.payment_time),
    orderId: text(order.order_id),
    orderAmountMinor: toMinor(order.order_amount),
    paymentId: text(tags.paymentId),
    cfPaymentId: text(payment.cf_payment_id),
    refundId: text(row.refund_details?.refund_id),
  };
}

/** A settlement in the vocabulary of payouts (Payout rows, their ranks and alerts). */
export function settlementStatus(status: unknown): GatewayPayout['status'] {
  switch (String(status ?? '').toUpperCase()) {
    case 'SUCCESS':
      return 'paid';
    case 'PENDING_WITH_BANK':
      return 'in_transit';
    case 'FAILED':
      return 'failed';
    default:
      return 'pending';
  }
}

/**
 * A settlement as a payout. Its amount is what reached the bank (amount_settled), else the
 * payments it carries; a figure that is not two-decimal rupees counts as 0 and says so in the
 * failure message (the payout row is a record for operators, the money is Cashfree's to state).
 */
export function mapSettlement(row: GetAllSettlementsResponseDataInner, now: Date): GatewayPayout {
  const settled = toMinor(row.amount_settled ?? row.payment_amount);
  const failed = settlementStatus(row.status) === 'failed';
  const created = time(row.settlement_initiated_on) ?? time(row.payment_till) ?? now;
  const notMoney = settled === null ? `amount ${String(row.amount_settled ?? row.payment_amount)} is not two-decimal rupees` : null;
  return {
    id: String(row.cf_settlement_id),
    amountMinor: settled ?? 0,
    currency: 'inr',
    status: settlementStatus(row.status),
    failureCode: failed ? String(row.status) : null,
    failureMessage: failed ? [text(row.status_description), notMoney].filter(Boolean).join('; ') || null : notMoney,
    arrivalDate: time(row.settlement_processed_on) ?? created,
    created,
  };
}
