import { FakeCashfreeError, rupees, type FakeCashfreeEngine, type FakeSettlement } from './fake-cashfree.engine';

/**
 * The fake Cashfree's reconciliation lists, made from its engine's orders, payment attempts,
 * refunds and settlements, in the shapes of Cashfree's POST /recon and POST /settlements
 * (2025-01-01): filters by start_date and end_date, pages by an opaque cursor, honours limit
 * (at most 1000, 10 when not given). Plus the test controls that put things there a webhook
 * never told us about: a settlement, a payment on an order that is not Recoup's.
 */

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 10;

interface Listing {
  pagination?: { limit?: unknown; cursor?: unknown };
  filters?: { start_date?: unknown; end_date?: unknown };
}

const digits = (n: number): string => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0');

function range(body: Listing): { start: number; end: number } {
  const start = body.filters?.start_date ? Date.parse(String(body.filters.start_date)) : 0;
  const end = body.filters?.end_date ? Date.parse(String(body.filters.end_date)) : Number.MAX_SAFE_INTEGER;
  if (Number.isNaN(start) || Number.isNaN(end)) throw new FakeCashfreeError(400, 'filters_invalid', 'start_date and end_date must be ISO 8601 times');
  return { start, end };
}

/** One page of `rows` (already in order) and the cursor of the next, null after the last. */
function paged(rows: Array<Record<string, unknown>>, body: Listing): { cursor: string | null; limit: number; data: Array<Record<string, unknown>> } {
  const asked = body.pagination?.limit === undefined ? DEFAULT_LIMIT : Number(body.pagination.limit);
  if (!Number.isInteger(asked) || asked < 1 || asked > MAX_LIMIT) throw new FakeCashfreeError(400, 'pagination_limit_invalid', `limit must be 1 to ${MAX_LIMIT}`);
  let offset = 0;
  if (body.pagination?.cursor) {
    offset = Number(Buffer.from(String(body.pagination.cursor), 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(offset) || offset < 0) throw new FakeCashfreeError(400, 'pagination_cursor_invalid', 'cursor is not one this API gave');
  }
  const data = rows.slice(offset, offset + asked);
  const next = offset + data.length;
  return { cursor: next < rows.length ? Buffer.from(`offset:${next}`).toString('base64url') : null, limit: asked, data };
}

const within = (at: Date, window: { start: number; end: number }): boolean => at.getTime() >= window.start && at.getTime() < window.end;

/** POST /recon: a PAYMENT event per successful attempt, a REFUND event per refund, oldest first. */
export function listRecon(engine: FakeCashfreeEngine, body: Listing) {
  const window = range(body);
  const rows: Array<{ at: Date; row: Record<string, unknown> }> = [];
  for (const attempt of engine.attempts.filter((a) => a.outcome === 'success' && within(a.at, window))) {
    const order = engine.orders.get(attempt.orderId)!;
    rows.push({
      at: attempt.at,
      row: {
        event_details: { event_id: `1${attempt.cfPaymentId}`, event_type: 'PAYMENT', event_status: 'SUCCESS', event_amount: rupees(attempt.amountMinor), event_settlement_amount: rupees(attempt.amountMinor), sale_type: 'CREDIT', event_time: attempt.at.toISOString(), event_currency: order.currency, entity: 'recon' },
        order_details: { order_id: order.orderId, order_amount: rupees(order.amountMinor), order_currency: order.currency, order_tags: order.tags },
        customer_details: { customer_id: order.customer.customer_id, customer_phone: order.customer.customer_phone },
        payment_details: { cf_payment_id: attempt.cfPaymentId, status: 'SUCCESS', payment_amount: rupees(attempt.amountMinor), payment_currency: order.currency, payment_time: attempt.at.toISOString(), payment_group: 'upi' },
        settlement_details: settlementOf(engine, order.orderId),
      },
    });
  }
  for (const refund of engine.refunds) {
    const at = refund.processedAt ?? refund.createdAt;
    if (!within(at, window)) continue;
    const order = engine.orders.get(refund.orderId)!;
    rows.push({
      at,
      row: {
        event_details: { event_id: `2${refund.cfRefundId}`, event_type: 'REFUND', event_status: refund.status, event_amount: rupees(refund.amountMinor), sale_type: 'DEBIT', event_time: at.toISOString(), event_currency: refund.currency, entity: 'recon' },
        order_details: { order_id: order.orderId, order_amount: rupees(order.amountMinor), order_currency: order.currency, order_tags: order.tags },
        payment_details: { cf_payment_id: refund.cfPaymentId, status: 'SUCCESS', payment_amount: rupees(order.amountMinor), payment_currency: order.currency },
        refund_details: { refund_id: refund.refundId, refund_note: refund.note, refund_processed_at: refund.processedAt?.toISOString() ?? null },
      },
    });
  }
  rows.sort((a, b) => a.at.getTime() - b.at.getTime() || String((a.row.event_details as Record<string, unknown>).event_id).localeCompare(String((b.row.event_details as Record<string, unknown>).event_id)));
  return paged(rows.map((r) => r.row), body);
}

function settlementOf(engine: FakeCashfreeEngine, orderId: string): Record<string, unknown> | undefined {
  const settlement = engine.settlements.find((s) => s.orderIds.includes(orderId));
  return settlement ? { cf_settlement_id: settlement.cfSettlementId, utr: settlement.utr, settlement_date: settlement.processedAt?.toISOString() ?? null } : undefined;
}

/** POST /settlements: by initiation time, oldest first. */
export function listSettlements(engine: FakeCashfreeEngine, body: Listing) {
  const window = range(body);
  const rows = engine.settlements
    .filter((s) => within(s.initiatedAt, window))
    .sort((a, b) => a.initiatedAt.getTime() - b.initiatedAt.getTime())
    .map((s) => ({
      cf_settlement_id: s.cfSettlementId,
      status: s.status,
      status_description: s.statusDescription,
      settlement_utr: s.utr,
      payment_from: s.initiatedAt.toISOString(),
      payment_till: s.initiatedAt.toISOString(),
      settlement_initiated_on: s.initiatedAt.toISOString(),
      settlement_processed_on: s.processedAt?.toISOString() ?? null,
      payment_amount: rupees(s.paymentAmountMinor),
      pg_service_charge: rupees(s.paymentAmountMinor - s.settledMinor),
      pg_service_tax: 0,
      adjustment: 0,
      amount_settled: rupees(s.settledMinor),
      charge_type: 'POSTPAID',
      settlement_type: 'NORMAL_SETTLEMENT',
    }));
  return paged(rows, body);
}

/**
 * Test control: Cashfree settles the paid orders not yet settled (or those named), less a 2% fee,
 * with the given status (FAILED: the bank returned it).
 */
export function settle(engine: FakeCashfreeEngine, options: { status?: FakeSettlement['status']; orderIds?: string[]; description?: string } = {}): FakeSettlement {
  const settled = new Set(engine.settlements.flatMap((s) => s.orderIds));
  const orderIds = options.orderIds ?? [...engine.orders.values()].filter((o) => o.status === 'PAID' && !settled.has(o.orderId)).map((o) => o.orderId);
  const paymentAmountMinor = orderIds.reduce((sum, id) => sum + (engine.orders.get(id)?.amountMinor ?? 0), 0);
  const status = options.status ?? 'SUCCESS';
  const now = engine.clock.now();
  const settlement: FakeSettlement = {
    cfSettlementId: digits(9),
    status,
    statusDescription: options.description ?? (status === 'FAILED' ? 'Settlement failed: beneficiary bank account is closed' : status === 'SUCCESS' ? 'Settled' : 'In progress'),
    utr: status === 'FAILED' ? '' : `UTR${digits(12)}`,
    orderIds,
    paymentAmountMinor,
    settledMinor: paymentAmountMinor - Math.round(paymentAmountMinor * 0.02),
    initiatedAt: now,
    processedAt: status === 'SUCCESS' || status === 'FAILED' ? now : null,
  };
  engine.settlements.push(settlement);
  return settlement;
}

/** Test control: a payment at Cashfree on an order Recoup never made (no webhook is sent). */
export function foreignPayment(engine: FakeCashfreeEngine, amountMinor: number, orderId = `manual_${digits(10)}`) {
  engine.createOrder({ order_id: orderId, order_amount: rupees(amountMinor), order_currency: 'INR', customer_details: { customer_id: 'walkin', customer_phone: '9999999999' } });
  return engine.attempt(orderId, 'success').attempt;
}
