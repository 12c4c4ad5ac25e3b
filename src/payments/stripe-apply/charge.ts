import type { Disputed, Refunded } from '../../integrations/stripe/facts';
import type { Tx } from '../../platform/database/transaction';
import { checkEventMoney, describeProblems } from '../event-money';
import type { Payment } from '../payment.entity';
import { actor, moneyAlert, raise, upper, type StripeApply } from './context';
import { ownRefundedMinor } from '../own-actions';
import { refundFailureRecorded } from '../payment-sync.service';

/**
 * A refund total the payment cannot hold (more than its amount, not a whole number, another
 * currency) is never recorded from the event: the charge is re-read and Stripe's total recorded,
 * or nothing when Stripe's figures do not fit either. Stripe unreachable throws: retried later.
 */
export async function chargeRefunded(ctx: StripeApply, tx: Tx, payment: Payment, fact: Refunded): Promise<string> {
  // Cancelling an uncaptured intent marks its charge refunded: a hold released, no money back.
  if (fact.captured === false) return 'no change: an authorization was released (its charge was never captured)';
  const said = checkEventMoney(payment, fact.money);
  // After a failed refund the charge's total went down: a late or redelivered charge.refunded may
  // still count the failed refund, and totals only grow, so Stripe's charge says what is refunded now.
  if (said.ok && (await refundFailureRecorded(tx, payment.id))) {
    const charge = await ctx.gateway.retrieveCharge(fact.chargeId);
    if (!charge.captured) return 'no change: an authorization was released (its charge was never captured, says Stripe)';
    const fresh = checkEventMoney(payment, { amountMinor: charge.amountMinor, refundedMinor: charge.amountRefundedMinor, currency: charge.currency });
    if (fresh.ok) {
      const outcome = await applyRefund(ctx, tx, payment, fact, { amount: charge.amountMinor, refunded: charge.amountRefundedMinor, currency: charge.currency });
      return `${outcome} (re-read from Stripe: a refund of this payment failed earlier)`;
    }
  }
  if (said.ok) {
    const { amountMinor, refundedMinor, currency } = fact.money;
    return applyRefund(ctx, tx, payment, fact, { amount: amountMinor as number, refunded: refundedMinor as number, currency: currency as string });
  }
  const charge = await ctx.gateway.retrieveCharge(fact.chargeId);
  const fresh = checkEventMoney(payment, { amountMinor: charge.amountMinor, refundedMinor: charge.amountRefundedMinor, currency: charge.currency });
  const where = `${fact.eventType} for charge ${charge.id}: the event said ${describeProblems(said)}`;
  if (!fresh.ok) {
    await moneyAlert(ctx, tx, payment, 'Stripe reports impossible refund figures', `${where}; Stripe's charge says ${describeProblems(fresh)}. Nothing was recorded.`);
    return `no change: refund figures do not fit the payment at Stripe either (${describeProblems(fresh)})`;
  }
  const stripeSays = `${charge.amountRefundedMinor} of ${charge.amountMinor} ${upper(charge.currency)} refunded`;
  await moneyAlert(ctx, tx, payment, 'Stripe event disagreed with Stripe', `${where}. Stripe's charge says ${stripeSays}; that is what was recorded.`);
  if (!charge.captured) return 'no change: an authorization was released (its charge was never captured, says Stripe)';
  if (charge.amountRefundedMinor === 0) return `no change: Stripe says nothing was refunded (the event said ${describeProblems(said)})`;
  const outcome = await applyRefund(ctx, tx, payment, fact, { amount: charge.amountMinor, refunded: charge.amountRefundedMinor, currency: charge.currency });
  return `${outcome} (as re-read from Stripe; the event's figures did not fit)`;
}

async function applyRefund(ctx: StripeApply, tx: Tx, payment: Payment, fact: Refunded, money: { amount: number; refunded: number; currency: string }): Promise<string> {
  const outcome = await ctx.sync.recordRefund(tx, actor, payment, money.refunded, fact.eventType);
  // A refund Recoup made itself (an operator's, a late payment's) is no news: its row was there first.
  if (money.refunded <= (await ownRefundedMinor(tx.em, payment.id))) return outcome;
  const of = `${money.refunded} of ${money.amount} ${upper(money.currency)}`;
  await raise(ctx, tx, fact.kind, payment, `${of} refunded`, money.refunded < money.amount ? `Payment partly refunded: ${of}` : undefined);
  return outcome;
}

/**
 * A dispute records no money, only that the charge is disputed; its amount is quoted in the alert.
 * When that amount or currency does not fit the payment, Stripe's charge says whether it is disputed.
 */
export async function disputeCreated(ctx: StripeApply, tx: Tx, payment: Payment, fact: Disputed): Promise<string> {
  const said = checkEventMoney(payment, fact.money);
  const dispute = `Dispute ${fact.disputeId}: ${fact.reason}`;
  if (said.ok) {
    const outcome = await ctx.sync.recordDispute(tx, actor, payment, fact.eventType);
    await raise(ctx, tx, fact.kind, payment, `${dispute} for ${fact.money.disputedMinor} ${fact.money.currency}`);
    return outcome;
  }
  if (!fact.chargeId) {
    await moneyAlert(ctx, tx, payment, 'Stripe dispute event with impossible figures', `${fact.eventType} ${fact.disputeId}: the event said ${describeProblems(said)} and names no charge. Nothing was recorded.`);
    return 'no change: the dispute names no charge to check';
  }
  const charge = await ctx.gateway.retrieveCharge(fact.chargeId);
  const where = `${fact.eventType} ${fact.disputeId} on charge ${charge.id}: the event said ${describeProblems(said)}`;
  if (!charge.disputed) {
    await moneyAlert(ctx, tx, payment, 'Stripe event disagreed with Stripe', `${where}; Stripe says the charge is not disputed. Nothing was recorded.`);
    return 'no change: Stripe says the charge is not disputed';
  }
  const outcome = await ctx.sync.recordDispute(tx, actor, payment, fact.eventType);
  await raise(ctx, tx, fact.kind, payment, `${dispute}; the event's amount did not fit the payment (see Stripe)`);
  await moneyAlert(ctx, tx, payment, 'Stripe event disagreed with Stripe', `${where}. Stripe confirms the charge is disputed; the dispute was recorded.`);
  return `${outcome} (dispute confirmed by Stripe; the event's figures did not fit)`;
}
