import type { CheckoutCompleted, CheckoutExpired } from '../../integrations/stripe/facts';
import type { GatewayCheckoutSession } from '../../integrations/stripe/payment-gateway';
import type { Tx } from '../../platform/database/transaction';
import { checkEventMoney, describeProblems, onlyMismatches, type MoneyCheck } from '../event-money';
import type { Payment } from '../payment.entity';
import { PaymentStatus } from '../payment-status';
import { actor, moneyAlert, upper, type StripeApply } from './context';
import { syncCheckedIntent } from './intent';

type CompletedSession = Pick<GatewayCheckoutSession, 'paymentIntentId' | 'paymentStatus'>;

export async function checkoutCompleted(ctx: StripeApply, tx: Tx, payment: Payment, fact: CheckoutCompleted): Promise<string> {
  const check = checkEventMoney(payment, fact.money);
  if (!check.ok) return checkoutReRead(ctx, tx, payment, fact.sessionId, check);
  return checkoutPaid(ctx, tx, payment, { paymentIntentId: fact.ref.intentId, paymentStatus: fact.paymentStatus });
}

async function checkoutPaid(ctx: StripeApply, tx: Tx, payment: Payment, session: CompletedSession): Promise<string> {
  ctx.sync.attachIntent(payment, session.paymentIntentId);
  if (session.paymentStatus === 'paid') {
    return ctx.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: 'checkout.session.completed' });
  }
  // Unpaid at completion: manual capture (authorized) or a delayed method. The intent says which.
  if (!session.paymentIntentId) return 'no change: checkout completed without a payment intent';
  const intent = await ctx.gateway.retrievePaymentIntent(session.paymentIntentId);
  return syncCheckedIntent(ctx, tx, payment, intent, 'checkout.session.completed');
}

/** A completed session whose amount or currency does not fit the payment: Stripe's session decides. */
async function checkoutReRead(ctx: StripeApply, tx: Tx, payment: Payment, sessionId: string, said: MoneyCheck): Promise<string> {
  const session = await ctx.gateway.retrieveCheckoutSession(sessionId);
  const fresh = checkEventMoney(payment, { amountMinor: session.amountTotalMinor, currency: session.currency });
  const where = `checkout.session.completed for session ${session.id}: the event said ${describeProblems(said)}`;
  if (!onlyMismatches(fresh)) {
    await moneyAlert(ctx, tx, payment, 'Stripe reports impossible checkout figures', `${where}; Stripe's session says ${describeProblems(fresh)}. Nothing was recorded.`);
    return `no change: the session's figures are impossible at Stripe too (${describeProblems(fresh)})`;
  }
  const outcome = await checkoutPaid(ctx, tx, payment, session);
  await moneyAlert(
    ctx,
    tx,
    payment,
    fresh.ok ? 'Stripe event disagreed with Stripe' : 'Stripe charged a different amount than the payment',
    fresh.ok
      ? `${where}. Stripe's session agrees with the payment (${session.amountTotalMinor} ${upper(session.currency)}); it was applied.`
      : `${where}. Stripe confirms: ${describeProblems(fresh)}. The session was applied as Stripe has it; check the payment.`,
  );
  return `${outcome} (event money did not fit the payment; re-read from Stripe, alerted)`;
}

/** The session may have completed since it expired: only Stripe's session saying expired moves the payment. */
export async function checkoutExpired(ctx: StripeApply, tx: Tx, payment: Payment, fact: CheckoutExpired): Promise<string> {
  const session = await ctx.gateway.retrieveCheckoutSession(fact.sessionId);
  if (session.status !== 'expired') return `no change: session is ${session.status}`;
  return ctx.sync.moveTo(tx, actor, payment, PaymentStatus.EXPIRED, { reason: 'checkout.session.expired' });
}
