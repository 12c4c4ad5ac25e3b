import type { CashfreeGateway, CashfreeOrder, CashfreeRefund } from '../integrations/cashfree/cashfree.gateway';
import type { Actor, Tx } from '../platform/database/transaction';
import { statusForOrder } from './cashfree-events';
import { ourMoney, type MoneyState, type OurSide } from './money-state';
import type { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import type { PaymentSync } from './payment-sync.service';
import { Refund, RefundStatus } from './refund.entity';

/**
 * A Cashfree payment read through and brought in line with Cashfree (the operator's sync and the
 * reconciliation's repair of a missed webhook): the order decides the status, through
 * PaymentSync.moveTo as a webhook would (so a late success goes through the late-payment
 * listener, and ranks make a second sync a no-op), and the order's processed refunds give the
 * refunded total, which only grows.
 */

export interface CashfreeTruth {
  order: CashfreeOrder;
  refunds: CashfreeRefund[];
}

export const cashfreeOrderIdOf = (payment: Pick<Payment, 'id' | 'gatewayOrderId'>): string => payment.gatewayOrderId ?? payment.id;

/** The order, and its refunds when it was paid (an unpaid order has none). Outside any transaction. */
export async function readCashfree(gateway: CashfreeGateway, payment: Pick<Payment, 'id' | 'gatewayOrderId'>): Promise<CashfreeTruth> {
  const order = await gateway.fetchOrder(cashfreeOrderIdOf(payment));
  const refunds = order.status === 'PAID' ? await gateway.fetchRefunds(order.orderId) : [];
  return { order, refunds };
}

/** The total of the order's processed refunds; null when one of them is not money. */
export function refundedAtCashfree(refunds: readonly CashfreeRefund[]): number | null {
  return refunds.filter((r) => r.status === 'SUCCESS').reduce<number | null>((sum, r) => (sum === null || r.amountMinor === null ? null : sum + r.amountMinor), 0);
}

function cashfreeMoney(truth: CashfreeTruth): MoneyState {
  if (truth.order.status !== 'PAID') return 'NONE';
  const refunded = refundedAtCashfree(truth.refunds) ?? 0;
  return truth.order.amountMinor !== null && truth.order.amountMinor > 0 && refunded >= truth.order.amountMinor ? 'REFUNDED' : 'CAPTURED';
}

/** Why our payment and Cashfree's order disagree about the money, or null when they agree. */
export function cashfreeDisagreement(ours: OurSide, truth: CashfreeTruth): string | null {
  const theirs = cashfreeMoney(truth);
  const mine = ourMoney(ours.status);
  if (mine !== theirs) return `ours is ${ours.status} (${mine.toLowerCase()}), Cashfree's order is ${truth.order.status} (${theirs.toLowerCase()})`;
  const refunded = refundedAtCashfree(truth.refunds);
  if (mine === 'CAPTURED' && refunded !== ours.refundedMinor) return `refunded ${refunded ?? 'an amount that is not money'} at Cashfree but ${ours.refundedMinor} in our records`;
  return null;
}

/** Our locked payment ← Cashfree's truth. Answers what was done, one outcome per step. */
export async function syncToCashfree(tx: Tx, actor: Actor, sync: PaymentSync, payment: Payment, truth: CashfreeTruth, reason: string): Promise<string[]> {
  const { order } = truth;
  payment.gatewayOrderId ??= order.orderId;
  const outcomes: string[] = [];
  const target = statusForOrder(order);
  if (target === PaymentStatus.SUCCEEDED && (order.amountMinor !== payment.amountMinor || order.currency !== payment.currency.toLowerCase())) {
    // Paid, but not the money of this payment: following it would record what we did not sell.
    return [`no change: Cashfree's order ${order.orderId} is PAID with ${order.amountMinor ?? 'an amount that is not money'} ${order.currency}, not ${payment.amountMinor} ${payment.currency}`];
  }
  if (target) outcomes.push(await sync.moveTo(tx, actor, payment, target, { reason: `${reason}: Cashfree's order is ${order.status}` }));
  else outcomes.push(`no change: Cashfree's order is ${order.status}`);
  const refunded = refundedAtCashfree(truth.refunds);
  if (refunded === null || refunded > payment.amountMinor) {
    outcomes.push(`refunds not recorded: Cashfree's processed refunds of order ${order.orderId} do not fit the payment`);
  } else if (refunded > payment.refundedMinor && [PaymentStatus.SUCCEEDED, PaymentStatus.DISPUTED, PaymentStatus.REFUNDED].includes(payment.status)) {
    await settleOwnRefunds(tx, payment, truth.refunds);
    outcomes.push(await sync.recordRefund(tx, actor, payment, refunded, `${reason}: Cashfree's processed refunds`));
  }
  return outcomes;
}

/** Our own refunds Cashfree has processed while we still had them PENDING (their webhook was lost). */
async function settleOwnRefunds(tx: Tx, payment: Payment, refunds: readonly CashfreeRefund[]): Promise<void> {
  const done = refunds.filter((r) => r.status === 'SUCCESS').map((r) => r.refundId);
  if (done.length === 0) return;
  const ours = await tx.em.find(Refund, { payment: payment.id, status: RefundStatus.PENDING });
  for (const refund of ours.filter((r) => done.includes(r.id))) Object.assign(refund, { status: RefundStatus.SUCCEEDED, completedAt: tx.clock.now(), failureMessage: null });
}
