import type { IntentChanged, PaymentSucceeded } from '../../integrations/stripe/facts';
import type { GatewayPaymentIntent } from '../../integrations/stripe/payment-gateway';
import { mapPaymentIntent } from '../../integrations/stripe/stripe.mappers';
import type { Tx } from '../../platform/database/transaction';
import { checkEventMoney, describeProblems, onlyMismatches, type MoneyCheck } from '../event-money';
import type { Payment } from '../payment.entity';
import { PaymentStatus } from '../payment-status';
import { statusForIntent } from '../payment-sync.service';
import { isOwnRelease } from '../own-actions';
import { actor, moneyAlert, raise, upper, type StripeApply } from './context';

/** Re-read facts alert only when Stripe's current state agrees: a decline the customer has since paid past is no exception. */
const ALERT_ONLY_WHEN: Partial<Record<IntentChanged['kind'], PaymentStatus>> = {
  PaymentFailed: PaymentStatus.FAILED,
  Canceled: PaymentStatus.CANCELLED,
};

/** A success's money is checked against the payment; only a disagreement costs a call to Stripe. */
export async function intentSucceeded(ctx: StripeApply, tx: Tx, payment: Payment, fact: PaymentSucceeded): Promise<string> {
  const said = checkEventMoney(payment, fact.money);
  if (said.ok) return ctx.sync.syncToIntent(tx, actor, payment, mapPaymentIntent(fact.intent), fact.eventType);
  // Rare: the row stays locked across this one call to Stripe. Unreachable Stripe throws: the event is retried.
  const fresh = await ctx.gateway.retrievePaymentIntent(fact.intentId);
  return syncCheckedIntent(ctx, tx, payment, fresh, fact.eventType, said);
}

/**
 * A cancellation Recoup made itself is no news: the payment was CANCELLED before its echo arrived,
 * or (the echo came first) our record of asking Stripe to release it is there.
 */
async function ownCancellation(tx: Tx, payment: Payment, before: PaymentStatus): Promise<boolean> {
  return before === PaymentStatus.CANCELLED || isOwnRelease(tx.em, payment.id);
}

/** A failure, cancel or authorization may be stale: Stripe's intent is applied instead of the snapshot. */
export async function intentChanged(ctx: StripeApply, tx: Tx, payment: Payment, fact: IntentChanged): Promise<string> {
  const before = payment.status;
  const fresh = await ctx.gateway.retrievePaymentIntent(fact.intentId);
  const outcome = await syncCheckedIntent(ctx, tx, payment, fresh, fact.eventType);
  if (payment.status === ALERT_ONLY_WHEN[fact.kind] && !(fact.kind === 'Canceled' && (await ownCancellation(tx, payment, before)))) {
    await raise(ctx, tx, fact.kind, payment, fresh.lastErrorMessage ?? fresh.lastErrorCode ?? fresh.status);
  }
  return outcome;
}

/**
 * Applies an intent read from Stripe. Where it would leave money taken or held (SUCCEEDED,
 * AUTHORIZED), its figures are checked against the payment first: impossible figures are not
 * recorded at all; an amount or currency that differs from what we charged is applied as Stripe
 * has it (the status follows Stripe, as ever) but raises WEBHOOK_MONEY_MISMATCH. `said` is the
 * check of the event that sent us to Stripe, when that event's own figures did not fit.
 */
export async function syncCheckedIntent(ctx: StripeApply, tx: Tx, payment: Payment, intent: GatewayPaymentIntent, eventType: string, said?: MoneyCheck): Promise<string> {
  const target = statusForIntent(intent);
  const movesMoney = target === PaymentStatus.SUCCEEDED || target === PaymentStatus.AUTHORIZED;
  const fresh: MoneyCheck = movesMoney
    ? checkEventMoney(payment, { amountMinor: intent.amountMinor, receivedMinor: intent.amountReceivedMinor, currency: intent.currency })
    : { ok: true };
  if (fresh.ok && !said) return ctx.sync.syncToIntent(tx, actor, payment, intent, eventType);
  const where = `${eventType} for intent ${intent.id}${said ? `: the event said ${describeProblems(said)}` : ''}`;
  if (!onlyMismatches(fresh)) {
    await moneyAlert(ctx, tx, payment, 'Stripe reports impossible payment figures', `${where}; Stripe's intent says ${describeProblems(fresh)}. Nothing was recorded.`);
    return `no change: the intent's figures are impossible at Stripe (${describeProblems(fresh)})`;
  }
  const outcome = await ctx.sync.syncToIntent(tx, actor, payment, intent, eventType);
  const stripeSays = `${intent.amountMinor} ${upper(intent.currency)}, ${intent.status}`;
  await moneyAlert(
    ctx,
    tx,
    payment,
    fresh.ok ? 'Stripe event disagreed with Stripe' : 'Stripe charged a different amount than the payment',
    fresh.ok
      ? `${where}. Stripe's intent agrees with the payment (${stripeSays}); it was applied.`
      : `${where}${said ? '.' : ':'} Stripe's intent is ${stripeSays}: ${describeProblems(fresh)}. Its status was applied as usual; check the payment.`,
  );
  return `${outcome} (amount or currency did not fit the payment, alerted)`;
}
