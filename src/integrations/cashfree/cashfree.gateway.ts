import type { Cashfree, CreateOrderRequest, OrderEntity, RefundEntity } from 'cashfree-pg';
import { GatewayError } from '../stripe/gateway.errors';
import { toMajor, toMinor } from './money';
import { mapReconEvent, mapSettlement, type CashfreeListQuery, type CashfreePage, type CashfreeReconEvent } from './recon';
import type { GatewayPayout } from '../stripe/payment-gateway';

/**
 * Cashfree's orders and refunds in our words; only this folder knows the cashfree-pg SDK.
 * Checkout is an order (its order_id is our payment id) with a payment session that Cashfree's
 * hosted checkout opens. Idempotency is by our own ids, which Cashfree keeps unique: creating an
 * order whose order_id exists, or a refund whose refund_id exists, answers 409, and the adapter
 * then answers the object that exists (after checking it is the same money), so repeating a
 * write after a timeout never makes a second order or a second refund.
 */

export type CashfreeOrderStatus = 'ACTIVE' | 'PAID' | 'EXPIRED' | 'TERMINATED' | 'TERMINATION_REQUESTED';
export type CashfreeRefundStatus = 'SUCCESS' | 'PENDING' | 'CANCELLED' | 'ONHOLD' | 'FAILED';

export interface CashfreeOrder {
  /** Ours: the payment id. */
  orderId: string;
  cfOrderId: string | null;
  status: CashfreeOrderStatus | string;
  /** null when Cashfree's figure is not a two-decimal amount. */
  amountMinor: number | null;
  currency: string;
  paymentSessionId: string | null;
  expiresAt: Date | null;
  /** The order_tags.paymentId we set. */
  paymentId: string | null;
}

export interface CashfreeRefund {
  /** Ours: the Refund row id. */
  refundId: string;
  cfRefundId: string | null;
  orderId: string;
  amountMinor: number | null;
  currency: string;
  status: CashfreeRefundStatus | string;
  statusDescription: string | null;
}

export interface CashfreeOrderInput {
  paymentId: string;
  amountMinor: number;
  currency: string;
  customer: { id: string; phone: string; email: string | null; name: string | null };
  productName: string;
  expiresAt: Date;
  returnUrl: string;
}

export interface CashfreeRefundInput {
  orderId: string;
  refundId: string;
  amountMinor: number;
  note: string;
}

/** What Recoup needs from Cashfree. */
export interface CashfreeGateway {
  readonly mode: 'LIVE' | 'TEST' | 'SANDBOX';
  /** The order, and the URL of the hosted page that pays it. */
  createOrder(input: CashfreeOrderInput): Promise<{ order: CashfreeOrder; checkoutUrl: string }>;
  fetchOrder(orderId: string): Promise<CashfreeOrder>;
  /** Asks Cashfree to terminate an unpaid order; it may answer PAID (a payment won the race). */
  terminateOrder(orderId: string): Promise<CashfreeOrder>;
  createRefund(input: CashfreeRefundInput): Promise<CashfreeRefund>;
  fetchRefunds(orderId: string): Promise<CashfreeRefund[]>;
  /** One page of the PG reconciliation (payment, refund, dispute events) between start and end. */
  listReconEvents(query: CashfreeListQuery): Promise<CashfreePage<CashfreeReconEvent>>;
  /** One page of settlements (Cashfree's payouts to our bank), as payouts. */
  listSettlements(query: CashfreeListQuery): Promise<CashfreePage<GatewayPayout>>;
}

export interface CashfreeSettings {
  appId: string;
  secretKey: string;
  environment: 'sandbox' | 'production';
  /** Base URL override (a fake Cashfree in tests and sandbox mode), e.g. http://127.0.0.1:4010/pg. */
  apiUrl?: string;
  timeoutMs: number;
  /** The hosted checkout page; the payment session id is appended. */
  checkoutUrl: string;
  mode: 'LIVE' | 'TEST' | 'SANDBOX';
}

/**
 * The SDK's client. Loaded on first use (it brings @sentry/node, slow to load), and always with
 * XEnableErrorAnalytics false: left on, the constructor calls Sentry.init with Cashfree's DSN.
 */
export function createCashfreeClient(settings: CashfreeSettings): Cashfree {
  const sdk = require('cashfree-pg') as typeof import('cashfree-pg');
  const environment = settings.environment === 'production' ? sdk.CFEnvironment.PRODUCTION : sdk.CFEnvironment.SANDBOX;
  const client = new sdk.Cashfree(environment, settings.appId, settings.secretKey, undefined, undefined, undefined, false);
  // Every call uses the instance's basePath before its hard-coded host (createRequestFunction).
  if (settings.apiUrl) client.basePath = settings.apiUrl.replace(/\/+$/, '');
  return client;
}

interface AxiosLikeError {
  message?: string;
  code?: string;
  response?: { status?: number; data?: { message?: string; code?: string; type?: string }; headers?: Record<string, string> };
}

const statusOf = (error: unknown): number | null => (error as AxiosLikeError)?.response?.status ?? null;

export function toCashfreeError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = (error ?? {}) as AxiosLikeError;
  const status = e.response?.status ?? null;
  const body = e.response?.data ?? {};
  // No answer (refused, reset, timed out), rate limited or a server error: try again later.
  const retryable = status === null || status === 429 || status >= 500;
  const message = body.message ?? e.message ?? 'unknown error';
  return new GatewayError(`Cashfree: ${message}`, retryable, body.code ?? e.code ?? null, null, status, e.response?.headers?.['x-request-id'] ?? null);
}

export function mapOrder(order: OrderEntity): CashfreeOrder {
  const expires = order.order_expiry_time ? new Date(order.order_expiry_time) : null;
  return {
    orderId: String(order.order_id),
    cfOrderId: order.cf_order_id === undefined || order.cf_order_id === null ? null : String(order.cf_order_id),
    status: String(order.order_status ?? 'ACTIVE'),
    amountMinor: toMinor(order.order_amount),
    currency: String(order.order_currency ?? '').toLowerCase(),
    paymentSessionId: order.payment_session_id ?? null,
    expiresAt: expires && !Number.isNaN(expires.getTime()) ? expires : null,
    paymentId: order.order_tags?.paymentId ?? null,
  };
}

export function mapRefund(refund: RefundEntity): CashfreeRefund {
  return {
    refundId: String(refund.refund_id),
    cfRefundId: refund.cf_refund_id === undefined || refund.cf_refund_id === null ? null : String(refund.cf_refund_id),
    orderId: String(refund.order_id),
    amountMinor: toMinor(refund.refund_amount),
    currency: String(refund.refund_currency ?? '').toLowerCase(),
    status: String(refund.refund_status ?? 'PENDING'),
    statusDescription: refund.status_description ?? null,
  };
}

/** An empty page ends the list whatever its cursor says (so a cursor that never ends cannot loop). */
const nextCursor = (cursor: string | null | undefined, count: number): string | null => (cursor && count > 0 ? cursor : null);

/** Cashfree's customer_id: alphanumeric (and _ -), at most 50. */
const customerId = (id: string): string => id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 50);

export class CashfreeSdkGateway implements CashfreeGateway {
  readonly mode: 'LIVE' | 'TEST' | 'SANDBOX';

  constructor(
    private readonly client: Cashfree,
    private readonly settings: Pick<CashfreeSettings, 'timeoutMs' | 'checkoutUrl' | 'mode'>,
  ) {
    this.mode = settings.mode;
  }

  async createOrder(input: CashfreeOrderInput): Promise<{ order: CashfreeOrder; checkoutUrl: string }> {
    const request: CreateOrderRequest = {
      order_id: input.paymentId,
      order_amount: toMajor(input.amountMinor),
      order_currency: input.currency.toUpperCase(),
      customer_details: {
        customer_id: customerId(input.customer.id),
        customer_phone: input.customer.phone,
        ...(input.customer.email ? { customer_email: input.customer.email } : {}),
        ...(input.customer.name ? { customer_name: input.customer.name.slice(0, 100) } : {}),
      },
      order_meta: { return_url: input.returnUrl },
      order_expiry_time: input.expiresAt.toISOString(),
      order_note: input.productName.slice(0, 200),
      order_tags: { paymentId: input.paymentId },
    };
    let order: CashfreeOrder;
    try {
      order = mapOrder((await this.client.PGCreateOrder(request, undefined, undefined, this.options())).data);
    } catch (error) {
      if (statusOf(error) !== 409) throw toCashfreeError(error);
      // Created by an earlier attempt whose answer was lost: that order, if it is the same money.
      order = await this.fetchOrder(input.paymentId);
      if (order.amountMinor !== input.amountMinor || order.currency !== input.currency.toLowerCase()) {
        throw new GatewayError(`Cashfree: order ${input.paymentId} exists with ${order.amountMinor} ${order.currency}, not ${input.amountMinor} ${input.currency}`, false, 'order_mismatch', null, 409, null);
      }
    }
    if (!order.paymentSessionId) throw new GatewayError(`Cashfree: order ${order.orderId} has no payment session (it is ${order.status})`, false, 'no_payment_session', null, null, null);
    return { order, checkoutUrl: `${this.settings.checkoutUrl}${encodeURIComponent(order.paymentSessionId)}` };
  }

  async fetchOrder(orderId: string): Promise<CashfreeOrder> {
    return this.call(async () => mapOrder((await this.client.PGFetchOrder(orderId, undefined, undefined, this.options())).data));
  }

  async terminateOrder(orderId: string): Promise<CashfreeOrder> {
    try {
      return mapOrder((await this.client.PGTerminateOrder(orderId, { order_status: 'TERMINATED' }, undefined, undefined, this.options())).data);
    } catch (error) {
      // Already paid, expired or terminated: Cashfree refuses; the order says which.
      const status = statusOf(error);
      if (status !== null && status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 404 && status !== 429) return this.fetchOrder(orderId);
      throw toCashfreeError(error);
    }
  }

  async createRefund(input: CashfreeRefundInput): Promise<CashfreeRefund> {
    try {
      const response = await this.client.PGOrderCreateRefund(input.orderId, { refund_id: input.refundId, refund_amount: toMajor(input.amountMinor), refund_note: input.note.slice(0, 100) }, undefined, undefined, this.options());
      return mapRefund(response.data);
    } catch (error) {
      if (statusOf(error) !== 409) throw toCashfreeError(error);
      // This refund_id was used: an earlier attempt made it. That refund, never a second one.
      const existing = await this.call(async () => mapRefund((await this.client.PGOrderFetchRefund(input.orderId, input.refundId, undefined, undefined, this.options())).data));
      if (existing.amountMinor !== input.amountMinor) {
        throw new GatewayError(`Cashfree: refund ${input.refundId} exists for ${existing.amountMinor}, not ${input.amountMinor}`, false, 'refund_mismatch', null, 409, null);
      }
      return existing;
    }
  }

  async fetchRefunds(orderId: string): Promise<CashfreeRefund[]> {
    return this.call(async () => (await this.client.PGOrderFetchRefunds(orderId, undefined, undefined, this.options())).data.map(mapRefund));
  }

  async listReconEvents(query: CashfreeListQuery): Promise<CashfreePage<CashfreeReconEvent>> {
    return this.call(async () => {
      const body = { pagination: { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) }, filters: { start_date: query.start.toISOString(), end_date: query.end.toISOString() } };
      const page = (await this.client.PGFetchRecon(body, undefined, undefined, undefined, undefined, this.options())).data;
      return { data: (page.data ?? []).map(mapReconEvent), cursor: nextCursor(page.cursor, page.data?.length ?? 0) };
    });
  }

  async listSettlements(query: CashfreeListQuery): Promise<CashfreePage<GatewayPayout>> {
    return this.call(async () => {
      const body = { pagination: { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) }, filters: { start_date: query.start.toISOString(), end_date: query.end.toISOString() } };
      const page = (await this.client.PGFetchSettlements(body, undefined, undefined, undefined, undefined, this.options())).data;
      const now = new Date();
      return { data: (page.data ?? []).map((row) => mapSettlement(row, now)), cursor: nextCursor(page.cursor, page.data?.length ?? 0) };
    });
  }

  private options() {
    return { timeout: this.settings.timeoutMs };
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toCashfreeError(error);
    }
  }
}
