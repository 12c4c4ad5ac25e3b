import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../platform/shared/clock';

/**
 * The state of a fake Cashfree (PG API, version 2025-01-01 shapes): orders, their payment
 * attempts, refunds. Amounts are kept in paise (minor units) and shown in rupees, as Cashfree does.
 */

export type OrderStatus = 'ACTIVE' | 'PAID' | 'EXPIRED' | 'TERMINATED';
export type RefundStatus = 'SUCCESS' | 'PENDING' | 'CANCELLED' | 'ONHOLD';
export type AttemptOutcome = 'success' | 'failed' | 'dropped';

export interface FakeOrder {
  cfOrderId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  status: OrderStatus;
  paymentSessionId: string;
  expiresAt: Date;
  createdAt: Date;
  customer: Record<string, unknown>;
  meta: Record<string, unknown>;
  note: string | null;
  tags: Record<string, string> | null;
}

export interface FakeAttempt {
  cfPaymentId: string;
  orderId: string;
  outcome: AttemptOutcome;
  amountMinor: number;
  at: Date;
}

export interface FakeRefund {
  cfRefundId: string;
  refundId: string;
  orderId: string;
  cfPaymentId: string;
  amountMinor: number;
  currency: string;
  status: RefundStatus;
  note: string | null;
  statusDescription: string;
  createdAt: Date;
  processedAt: Date | null;
}

/** A settlement: Cashfree paying the merchant's bank what some paid orders brought in. */
export interface FakeSettlement {
  cfSettlementId: string;
  status: 'SUCCESS' | 'PENDING' | 'PENDING_WITH_BANK' | 'FAILED';
  statusDescription: string;
  utr: string;
  orderIds: string[];
  paymentAmountMinor: number;
  settledMinor: number;
  initiatedAt: Date;
  processedAt: Date | null;
}

/** A webhook as Cashfree sends it: the body's object, before signing. */
export interface FakeWebhook {
  type: string;
  body: Record<string, unknown>;
}

export class FakeCashfreeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }

  body() {
    return { message: this.message, code: this.code, type: this.type };
  }
}

/** Rupees (as Cashfree takes them) → paise; more than two decimals is refused, as Cashfree does. */
export function rupeesToPaise(value: unknown, field: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0) throw new FakeCashfreeError(400, `${field}_invalid`, `${field} must be a positive amount`);
  const paise = Math.round(number * 100);
  if (Math.abs(number * 100 - paise) > 1e-6) throw new FakeCashfreeError(400, `${field}_invalid`, `${field} allows at most two decimals`);
  return paise;
}

export const rupees = (paise: number): number => paise / 100;

const digits = (n: number): string => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0');

export class FakeCashfreeEngine {
  readonly orders = new Map<string, FakeOrder>();
  readonly attempts: FakeAttempt[] = [];
  readonly refunds: FakeRefund[] = [];
  readonly settlements: FakeSettlement[] = [];
  /** What a new refund answers: PENDING (Cashfree's usual) or processed at once. */
  refundMode: 'pending' | 'instant' = 'pending';

  constructor(readonly clock: Clock = systemClock) {}

  createOrder(input: Record<string, unknown>): FakeOrder {
    const orderId = String(input.order_id ?? `order_${digits(12)}`);
    if (!/^[A-Za-z0-9_-]{3,45}$/.test(orderId)) throw new FakeCashfreeError(400, 'order_id_invalid', 'order_id must be 3-45 alphanumeric, _ or - characters');
    if (this.orders.has(orderId)) throw new FakeCashfreeError(409, 'order_already_exists', 'order with same id is already present');
    const amountMinor = rupeesToPaise(input.order_amount, 'order_amount');
    const customer = (input.customer_details ?? {}) as Record<string, unknown>;
    if (!customer.customer_id || !customer.customer_phone) throw new FakeCashfreeError(400, 'customer_details_invalid', 'customer_details.customer_id and customer_phone are required');
    const now = this.clock.now();
    const expiry = input.order_expiry_time ? new Date(String(input.order_expiry_time)) : new Date(now.getTime() + 30 * 24 * 3600_000);
    if (Number.isNaN(expiry.getTime())) throw new FakeCashfreeError(400, 'order_expiry_time_invalid', 'order_expiry_time must be an ISO 8601 time');
    const order: FakeOrder = {
      cfOrderId: digits(10),
      orderId,
      amountMinor,
      currency: String(input.order_currency ?? 'INR').toUpperCase(),
      status: 'ACTIVE',
      paymentSessionId: `session_${randomBytes(18).toString('base64url')}`,
      expiresAt: expiry,
      createdAt: now,
      customer,
      meta: (input.order_meta ?? {}) as Record<string, unknown>,
      note: input.order_note ? String(input.order_note) : null,
      tags: (input.order_tags as Record<string, string> | undefined) ?? null,
    };
    this.orders.set(orderId, order);
    return order;
  }

  order(orderId: string): FakeOrder {
    const order = this.orders.get(orderId);
    if (!order) throw new FakeCashfreeError(404, 'order_not_found', 'order not found');
    this.expireIfDue(order);
    return order;
  }

  bySession(sessionId: string): FakeOrder | undefined {
    const order = [...this.orders.values()].find((o) => o.paymentSessionId === sessionId);
    if (order) this.expireIfDue(order);
    return order;
  }

  terminate(orderId: string): FakeOrder {
    const order = this.order(orderId);
    if (order.status === 'PAID') throw new FakeCashfreeError(400, 'order_already_paid', 'order is already paid and cannot be terminated');
    if (order.status === 'ACTIVE') order.status = 'TERMINATED';
    return order;
  }

  /** One payment attempt on the order's hosted page. Only a success pays it; the order stays payable otherwise. */
  attempt(orderId: string, outcome: AttemptOutcome): { attempt: FakeAttempt; webhook: FakeWebhook } {
    const order = this.order(orderId);
    if (order.status !== 'ACTIVE') throw new FakeCashfreeError(400, 'order_not_active', `order is ${order.status}`);
    const attempt: FakeAttempt = { cfPaymentId: digits(10), orderId, outcome, amountMinor: order.amountMinor, at: this.clock.now() };
    this.attempts.push(attempt);
    if (outcome === 'success') order.status = 'PAID';
    return { attempt, webhook: this.paymentWebhook(order, attempt) };
  }

  paymentWebhook(order: FakeOrder, attempt: FakeAttempt): FakeWebhook {
    const type = attempt.outcome === 'success' ? 'PAYMENT_SUCCESS_WEBHOOK' : attempt.outcome === 'failed' ? 'PAYMENT_FAILED_WEBHOOK' : 'PAYMENT_USER_DROPPED_WEBHOOK';
    const status = attempt.outcome === 'success' ? 'SUCCESS' : attempt.outcome === 'failed' ? 'FAILED' : 'USER_DROPPED';
    const data: Record<string, unknown> = {
      order: { order_id: order.orderId, order_amount: rupees(order.amountMinor), order_currency: order.currency, order_tags: order.tags },
      payment: {
        cf_payment_id: attempt.cfPaymentId,
        payment_status: status,
        payment_amount: rupees(attempt.amountMinor),
        payment_currency: order.currency,
        payment_message: attempt.outcome === 'success' ? '00::Transaction success' : attempt.outcome === 'failed' ? 'Transaction declined by the bank' : 'User dropped and did not complete the two factor authentication',
        payment_time: attempt.at.toISOString(),
        bank_reference: attempt.outcome === 'success' ? digits(12) : null,
        payment_group: 'upi',
        payment_method: { upi: { channel: 'collect', upi_id: 'buyer@okbank' } },
      },
      customer_details: { customer_name: order.customer.customer_name ?? null, customer_id: order.customer.customer_id, customer_email: order.customer.customer_email ?? null, customer_phone: order.customer.customer_phone },
    };
    if (attempt.outcome === 'failed') data.error_details = { error_code: 'TRANSACTION_DECLINED', error_description: 'issuer bank or payment service provider declined the transaction', error_reason: 'auth_declined', error_source: 'customer' };
    return { type, body: { data, event_time: attempt.at.toISOString(), type } };
  }

  /** A refund; its refund_id is unique per order (409 when used), and no more than is left may go back. */
  createRefund(orderId: string, input: Record<string, unknown>): FakeRefund {
    const order = this.order(orderId);
    if (order.status !== 'PAID') throw new FakeCashfreeError(400, 'order_not_paid', 'refunds are allowed on paid orders only');
    const refundId = String(input.refund_id ?? `refund_${digits(10)}`);
    if (this.refunds.some((r) => r.orderId === orderId && r.refundId === refundId)) throw new FakeCashfreeError(409, 'refund_already_exists', 'refund with same refund_id is already present');
    const amountMinor = rupeesToPaise(input.refund_amount, 'refund_amount');
    const taken = this.refunds.filter((r) => r.orderId === orderId && r.status !== 'CANCELLED').reduce((sum, r) => sum + r.amountMinor, 0);
    if (amountMinor > order.amountMinor - taken) throw new FakeCashfreeError(400, 'refund_amount_invalid', 'refund amount is more than the amount left to refund');
    const paid = this.attempts.find((a) => a.orderId === orderId && a.outcome === 'success');
    const now = this.clock.now();
    const instant = this.refundMode === 'instant';
    const refund: FakeRefund = {
      cfRefundId: digits(8),
      refundId,
      orderId,
      cfPaymentId: paid?.cfPaymentId ?? '0',
      amountMinor,
      currency: order.currency,
      status: instant ? 'SUCCESS' : 'PENDING',
      note: input.refund_note ? String(input.refund_note) : null,
      statusDescription: instant ? 'Refund processed successfully' : 'In Progress',
      createdAt: now,
      processedAt: instant ? now : null,
    };
    this.refunds.push(refund);
    return refund;
  }

  refund(orderId: string, refundId: string): FakeRefund {
    const refund = this.refunds.find((r) => r.orderId === orderId && r.refundId === refundId);
    if (!refund) throw new FakeCashfreeError(404, 'refund_not_found', 'refund not found');
    return refund;
  }

  /** The bank settles a pending refund: processed, or cancelled (the money stays with the merchant). */
  settleRefund(refundId: string, status: 'SUCCESS' | 'CANCELLED'): { refund: FakeRefund; webhook: FakeWebhook } {
    const refund = this.refunds.find((r) => r.refundId === refundId || r.cfRefundId === refundId);
    if (!refund) throw new FakeCashfreeError(404, 'refund_not_found', 'refund not found');
    refund.status = status;
    refund.statusDescription = status === 'SUCCESS' ? 'Refund processed successfully' : 'Refund cancelled: the bank rejected it';
    refund.processedAt = this.clock.now();
    return { refund, webhook: this.refundWebhook(refund) };
  }

  refundWebhook(refund: FakeRefund): FakeWebhook {
    const type = 'REFUND_STATUS_WEBHOOK';
    return { type, body: { data: { refund: this.refundEntity(refund) }, event_time: this.clock.now().toISOString(), type } };
  }

  orderEntity(order: FakeOrder): Record<string, unknown> {
    return {
      cf_order_id: order.cfOrderId,
      order_id: order.orderId,
      entity: 'order',
      order_currency: order.currency,
      order_amount: rupees(order.amountMinor),
      order_status: order.status,
      payment_session_id: order.status === 'ACTIVE' ? order.paymentSessionId : null,
      order_expiry_time: order.expiresAt.toISOString(),
      order_note: order.note,
      created_at: order.createdAt.toISOString(),
      customer_details: order.customer,
      order_meta: order.meta,
      order_tags: order.tags,
    };
  }

  refundEntity(refund: FakeRefund): Record<string, unknown> {
    return {
      cf_payment_id: refund.cfPaymentId,
      cf_refund_id: refund.cfRefundId,
      order_id: refund.orderId,
      refund_id: refund.refundId,
      entity: 'refund',
      refund_amount: rupees(refund.amountMinor),
      refund_currency: refund.currency,
      refund_note: refund.note,
      refund_status: refund.status,
      refund_type: 'MERCHANT_INITIATED',
      status_description: refund.statusDescription,
      created_at: refund.createdAt.toISOString(),
      processed_at: refund.processedAt?.toISOString() ?? null,
      refund_speed: { requested: 'STANDARD', accepted: 'STANDARD' },
    };
  }

  reset(): void {
    this.orders.clear();
    this.attempts.length = 0;
    this.refunds.length = 0;
    this.settlements.length = 0;
    this.refundMode = 'pending';
  }

  private expireIfDue(order: FakeOrder): void {
    if (order.status === 'ACTIVE' && this.clock.now() > order.expiresAt) order.status = 'EXPIRED';
  }
}
