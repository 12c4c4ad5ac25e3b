import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import type { RefundFailed } from '../../integrations/stripe/facts';
import type { Tx } from '../../platform/database/transaction';
import { checkEventMoney, describeProblems } from '../event-money';
import type { Payment } from '../payment.entity';
import { PaymentStatus } from '../payment-status';
import { actor, moneyAlert, upper, type StripeApply } from './context';

/**
 * refund.failed, or refund.updated with status failed (Stripe sends both for one failure): the
 * customer did not get the money back, so it is owed again (PaymentSync.recordRefundFailure) and
 * a HIGH REFUND_FAILED alert says to refund again. Applied once per Stripe refund.
 */
export async function refundFailed(ctx: StripeApply, tx: Tx, payment: Payment, fact: RefundFailed): Promise<string> {
  // The refund's amount must fit the payment (a whole number, no more than it, its currency).
  const said = checkEventMoney(payment, { refundedMinor: fact.money.amountMinor, currency: fact.money.currency });
  const amountMinor = said.ok && typeof fact.money.amountMinor === 'number' && fact.money.amountMinor > 0 ? fact.money.amountMinor : null;
  const result = await ctx.sync.recordRefundFailure(tx, actor, payment, { gatewayRefundId: fact.refundId, amountMinor, reason: fact.failureReason });
  if (!result.changed) return result.outcome;
  const currency = upper(payment.currency);
  if (amountMinor === null) {
    await moneyAlert(ctx, tx, payment, 'Stripe refund event with impossible figures', `${fact.eventType} ${fact.refundId}: the event said ${describeProblems(said)}; the refunded total was lowered by ${result.loweredBy} ${currency} (our own record of the refund), see Stripe.`);
  }
  const back = amountMinor ?? result.loweredBy;
  const next =
    payment.status === PaymentStatus.REFUNDED
      ? 'The payment stays REFUNDED and its access stays ended; refund again (refundPayment: what failed is refundable again).'
      : 'Refund again (refundPayment).';
  await ctx.alerts.raise(tx, {
    type: AlertType.REFUND_FAILED,
    severity: AlertSeverity.HIGH,
    title: `Refund failed: the customer did not get ${back} ${currency} back; refund again`,
    detail: `Payment ${payment.id}: refund ${fact.refundId} failed (${fact.failureReason}); ${result.refundedMinor} of ${payment.amountMinor} ${currency} now counts as refunded. ${next}`,
    subjectType: 'payment',
    subjectId: payment.id,
  });
  return result.outcome;
}
