import type { AlertService } from '../../alerts/alert.service';
import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import type { CashfreeGateway } from '../../integrations/cashfree/cashfree.gateway';
import type { CashfreeReconEvent } from '../../integrations/cashfree/recon';
import { GatewayError } from '../../integrations/stripe/gateway.errors';
import { ourMoney } from '../../payments/money-state';
import { cashfreePaidPage, cashfreePaymentsByOrder, type CashfreePaymentFacts } from '../../payments/payment-lookup';
import type { PaymentOperations } from '../../payments/payment-operations.service';
import { PaymentStatus } from '../../payments/payment-status';
import { systemActor } from '../../platform/database/transaction';
import { meteredGateway } from '../gateway-lister';
import { cashfreeOutOfSync, cashfreePaymentSubject, cashfreeSynced, missingCashfreePayment, unknownCashfreePayment } from './cashfree-findings';
import type { CheckContext, CheckOutcome, Finding, ReconciliationCheck } from './check.types';

const actor = systemActor('reconciliation');
const BATCH = 500;
const PAID = [PaymentStatus.SUCCEEDED, PaymentStatus.DISPUTED, PaymentStatus.REFUNDED];

/** What Cashfree's reconciliation says about one order in the window. */
interface OrderSeen {
  orderId: string;
  payment: CashfreeReconEvent | null;
  /** Its processed refunds listed in the window; null when one is not money. */
  refundedMinor: number | null;
  /** Something happened after settledBefore: a webhook may be on the way, not judged this run. */
  recent: boolean;
}

/** Why ours and Cashfree disagree; `ahead`: Cashfree knows more (a missed webhook), which a sync repairs. */
export function orderVerdict(ours: Pick<CashfreePaymentFacts, 'status' | 'refundedMinor' | 'amountMinor'>, seen: Pick<OrderSeen, 'payment' | 'refundedMinor'>): { why: string; ahead: boolean } | null {
  const refunded = seen.refundedMinor;
  if (refunded === null) return { why: 'Cashfree lists a refund whose amount is not money', ahead: false };
  const mine = ourMoney(ours.status);
  if (mine === 'NONE') return seen.payment || refunded > 0 ? { why: `ours is ${ours.status}, Cashfree took the payment`, ahead: true } : null;
  if (refunded > ours.refundedMinor) return { why: `refunded ${refunded} at Cashfree but ${ours.refundedMinor} in our records`, ahead: true };
  // All of an order's refunds follow its payment: with the payment in the window, the refunds listed are all there are.
  if (seen.payment && refunded < ours.refundedMinor) return { why: `refunded ${ours.refundedMinor} in our records but ${refunded} at Cashfree`, ahead: false };
  if (seen.payment && seen.payment.amountMinor !== ours.amountMinor) return { why: `Cashfree took ${seen.payment.amountMinor ?? 'an amount that is not money'}, ours is ${ours.amountMinor}`, ahead: false };
  return null;
}

/**
 * Every payment and refund event in Cashfree's PG reconciliation for the window (cursor-paged)
 * against our Cashfree payments (the order id is our payment id). Cashfree ahead of us — an order
 * paid that we have PENDING or EXPIRED, a refund we do not have — is a missed webhook: the same
 * read-through sync an operator runs repairs it (MISSED_WEBHOOK, action `synced`), and only what
 * it cannot settle is PAYMENT_OUT_OF_SYNC. A payment at Cashfree with no payment of ours is
 * UNKNOWN_GATEWAY_PAYMENT; a payment of ours counted as paid that Cashfree has no payment for
 * (re-read to be sure) is MISSING_PAYMENT. Anything that moved after settledBefore waits.
 */
export class CashfreeOrdersCheck implements ReconciliationCheck {
  readonly name = 'cashfree_orders';

  constructor(
    private readonly cashfree: CashfreeGateway,
    private readonly operations: PaymentOperations,
    private readonly alerts: AlertService,
    private readonly pageSize = 100,
  ) {}

  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const orders = new Map<string, OrderSeen>();
    let checked = 0;
    await ctx.lister.eachCursor(
      (cursor, limit) => this.cashfree.listReconEvents({ start: ctx.window.start, end: ctx.window.end, cursor, limit }),
      async (page) => {
        for (const event of page) if (this.fold(orders, event, ctx.settledBefore)) checked++;
      },
      this.pageSize,
    );
    const metered = meteredGateway(this.cashfree, ctx.lister);
    const examined = new Set<string>();
    const unknown = new Set<string>();
    const seen = [...orders.values()];
    const synced: Finding[] = [];
    for (let i = 0; i < seen.length; i += BATCH) {
      const findings = await this.judge(ctx, metered, seen.slice(i, i + BATCH), examined, unknown);
      synced.push(...findings.filter((f) => f.action === 'synced'));
      await ctx.sink.record(findings.filter((f) => f.action !== 'synced'));
    }
    if (synced.length > 0) await this.summarise(ctx, synced);
    await ctx.sink.record(synced);
    const candidates = await this.missing(ctx, metered, new Set(seen.filter((o) => o.payment).map((o) => o.orderId)));
    return {
      counts: { paymentsChecked: checked },
      scopes: [
        { alertType: AlertType.PAYMENT_OUT_OF_SYNC, examined: (id) => examined.has(id), note: 'our payment and Cashfree agree again' },
        { alertType: AlertType.UNKNOWN_GATEWAY_PAYMENT, subjectType: 'cashfree_payment', examined: (id) => unknown.has(id), note: 'the Cashfree payment now matches a payment of ours' },
        { alertType: AlertType.MISSING_PAYMENT, subjectType: 'payment', examined: (id) => candidates.has(id), note: 'Cashfree lists the payment now, or ours is no longer paid' },
      ],
    };
  }

  /** Adds one event to its order; answers whether it was a successful payment (the run's paymentsChecked). */
  private fold(orders: Map<string, OrderSeen>, event: CashfreeReconEvent, settledBefore: Date): boolean {
    const key = event.orderId ?? `cf:${event.cfPaymentId ?? event.eventId}`;
    const order = orders.get(key) ?? { orderId: key, payment: null, refundedMinor: 0, recent: false };
    orders.set(key, order);
    if (event.time && event.time >= settledBefore) order.recent = true;
    if (event.status !== 'SUCCESS') return false;
    if (event.type === 'PAYMENT') {
      order.payment = event;
      return true;
    }
    if (event.type === 'REFUND') order.refundedMinor = order.refundedMinor === null || event.amountMinor === null ? null : order.refundedMinor + event.amountMinor;
    return false;
  }

  private async judge(ctx: CheckContext, metered: CashfreeGateway, batch: OrderSeen[], examined: Set<string>, unknown: Set<string>): Promise<Finding[]> {
    const settled = batch.filter((o) => !o.recent);
    const ours = await cashfreePaymentsByOrder(ctx.db.fork(), settled.map((o) => o.orderId));
    const byOrder = new Map(ours.flatMap((p) => [[p.gatewayOrderId ?? p.id, p] as const, [p.id, p] as const]));
    const findings: Finding[] = [];
    for (const order of settled) {
      const payment = byOrder.get(order.orderId);
      if (!payment) {
        if (order.payment) {
          unknown.add(cashfreePaymentSubject(order.payment));
          findings.push(unknownCashfreePayment(order.payment));
        }
        continue;
      }
      if (payment.statusChangedAt >= ctx.settledBefore) continue;
      examined.add(payment.id);
      const verdict = orderVerdict(payment, order);
      if (!verdict) continue;
      const data = { cashfreeRefundedMinor: order.refundedMinor, cashfreePaid: Boolean(order.payment), gatewayStatus: order.payment ? `PAID, ${order.refundedMinor ?? '?'} refunded` : 'not paid' };
      findings.push(verdict.ahead ? await this.repair(metered, payment, order, verdict.why, data) : cashfreeOutOfSync(payment, verdict.why, 'alerted', data));
    }
    return findings;
  }

  /** Cashfree is ahead: the operator's sync with a system actor; what it leaves unsettled is alerted. */
  private async repair(metered: CashfreeGateway, payment: CashfreePaymentFacts, order: OrderSeen, why: string, data: Record<string, unknown>): Promise<Finding> {
    try {
      const after = await this.operations.syncPaymentWithGateway(actor, payment.id, { cashfree: metered });
      const still = orderVerdict(after, order);
      if (!still) return cashfreeSynced(payment, why, { status: after.status, refundedMinor: after.refundedMinor });
      return cashfreeOutOfSync({ ...payment, status: after.status, refundedMinor: after.refundedMinor }, `${still.why} (a sync could not settle it)`, 'sync_incomplete', data);
    } catch (error) {
      return cashfreeOutOfSync(payment, `${why}; the sync failed: ${(error as Error).message}`, 'sync_failed', data);
    }
  }

  /**
   * One alert for the webhooks Cashfree did not deliver (deduplicated while open), as for Stripe's:
   * the payments are repaired, but the webhook endpoint may need looking at.
   */
  private async summarise(ctx: CheckContext, synced: Finding[]): Promise<void> {
    const { alert, created } = await this.alerts.raiseNow({
      type: AlertType.MISSED_WEBHOOKS,
      severity: AlertSeverity.MEDIUM,
      title: `Cashfree's webhooks for ${synced.length} order(s) did not arrive; the reconciliation synced them`,
      detail: `Run ${ctx.runId}: ${synced.length} Cashfree payment(s) were behind Cashfree (paid or refunded there) and were synced. Check the webhook endpoint and its secret in Cashfree's dashboard.`,
      subjectType: 'webhook_endpoint',
      subjectId: 'cashfree',
    });
    for (const finding of synced) finding.raised = { id: alert.id, created: false, fingerprint: alert.fingerprint };
    if (created) synced[0].raised = { id: alert.id, created: true, fingerprint: alert.fingerprint };
  }

  /**
   * Ours paid, created in the window and settled, with no payment event from Cashfree: the order
   * is read to be sure (a list can lag), and one that is not PAID is MISSING_PAYMENT. Answers the
   * payments examined.
   */
  private async missing(ctx: CheckContext, metered: CashfreeGateway, paidAtCashfree: Set<string>): Promise<Set<string>> {
    const examined = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const page = await cashfreePaidPage(ctx.db.fork(), ctx.window, ctx.settledBefore, PAID, after, BATCH);
      const findings: Finding[] = [];
      for (const payment of page) {
        examined.add(payment.id);
        if (paidAtCashfree.has(payment.gatewayOrderId ?? payment.id) || paidAtCashfree.has(payment.id)) continue;
        const status = await this.orderStatus(metered, payment.gatewayOrderId ?? payment.id);
        if (status !== 'PAID') findings.push(missingCashfreePayment(payment, status));
      }
      await ctx.sink.record(findings);
      if (page.length < BATCH) return examined;
      after = page[page.length - 1].id;
    }
  }

  private async orderStatus(metered: CashfreeGateway, orderId: string): Promise<string> {
    try {
      return String((await metered.fetchOrder(orderId)).status);
    } catch (error) {
      if (error instanceof GatewayError && error.statusCode === 404) return 'not found';
      throw error;
    }
  }
}
