import type { FakeStripeEngine } from './fake-stripe.engine';
import { FakeStripeError } from './fake-stripe.errors';
import { newDispute, newPayout, newRefund } from './fake-stripe.objects';
import { latestCharge } from './fake-stripe.payment-intents';
import type { FakeCharge, FakeDispute, FakePayout, FakeRefund, Metadata } from './fake-stripe.types';

export interface RefundInput {
  charge?: string;
  paymentIntent?: string;
  amount?: number;
  reason?: string;
  metadata?: Metadata;
}

/** Refunds what is left of a captured charge; more than what is left is refused, as Stripe does. */
export function createRefund(engine: FakeStripeEngine, input: RefundInput): FakeRefund {
  const charge = refundableCharge(engine, input);
  if (!charge.captured) {
    throw FakeStripeError.invalidRequest(`Charge ${charge.id} has not been captured; cancel its PaymentIntent to release the hold.`);
  }
  const remaining = charge.amount_captured - charge.amount_refunded;
  if (remaining <= 0) {
    throw FakeStripeError.invalidRequest(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
  }
  const amount = input.amount ?? remaining;
  if (amount < 1) throw FakeStripeError.invalidParam('amount', 'Refund amount must be at least 1.', 'amount_too_small');
  if (amount > remaining) {
    throw FakeStripeError.invalidRequest(
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
      'amount_too_large',
      'amount',
    );
  }
  const refund = engine.store.refunds.insert(newRefund(charge, amount, engine.now(), input.reason ?? null, input.metadata ?? {}));
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount_captured;
  charge.refunds.data.unshift(refund);
  engine.emit('refund.created', refund);
  engine.emit('charge.refunded', charge);
  return refund;
}

function refundableCharge(engine: FakeStripeEngine, input: RefundInput): FakeCharge {
  if (input.charge) return engine.store.charges.get(input.charge, 'charge');
  if (!input.paymentIntent) throw FakeStripeError.missingParam('charge');
  const pi = engine.store.paymentIntents.get(input.paymentIntent, 'payment_intent');
  const charge = latestCharge(engine, pi);
  if (pi.status !== 'succeeded' || !charge) {
    throw FakeStripeError.invalidRequest(
      `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
      'charge_not_refundable',
      'payment_intent',
    );
  }
  return charge;
}

export function disputeCharge(
  engine: FakeStripeEngine,
  chargeId: string,
  options: { amount?: number; reason?: string } = {},
): FakeDispute {
  const charge = engine.store.charges.get(chargeId, 'charge');
  const dispute = engine.store.disputes.insert(
    newDispute(charge, options.amount ?? charge.amount_captured, options.reason ?? 'fraudulent', engine.now()),
  );
  charge.disputed = true;
  engine.emit('charge.dispute.created', dispute);
  return dispute;
}

/**
 * Stripe closes a dispute: `won` reinstates the funds (charge.dispute.funds_reinstated first) and
 * the charge is no longer counted disputed; `lost` leaves the money with the bank and the charge
 * disputed. https://docs.stripe.com/disputes/how-disputes-work
 */
export function closeDispute(engine: FakeStripeEngine, disputeId: string, outcome: 'won' | 'lost' | 'warning_closed'): FakeDispute {
  const dispute = engine.store.disputes.get(disputeId, 'dispute');
  if (dispute.status === 'won' || dispute.status === 'lost' || dispute.status === 'warning_closed') {
    throw FakeStripeError.invalidRequest(`This dispute is already closed (status \`${dispute.status}\`).`);
  }
  const charge = engine.store.charges.get(dispute.charge, 'charge');
  const previous = { status: dispute.status };
  dispute.status = outcome;
  if (outcome === 'won') {
    charge.disputed = false;
    engine.emit('charge.dispute.funds_reinstated', dispute);
  }
  if (outcome === 'warning_closed') charge.disputed = false;
  engine.emit('charge.dispute.closed', dispute, previous);
  return dispute;
}

/**
 * A refund that did not reach the customer (a closed card account, say): Stripe marks it failed
 * with a failure_reason, puts the money back on the balance (the charge's amount_refunded drops)
 * and sends refund.updated and refund.failed. https://docs.stripe.com/refunds#failed-refunds
 */
export function failRefund(engine: FakeStripeEngine, refundId: string, failureReason = 'expired_or_canceled_card'): FakeRefund {
  const refund = engine.store.refunds.get(refundId, 'refund');
  if (refund.status === 'failed' || refund.status === 'canceled') {
    throw FakeStripeError.invalidRequest(`This refund has a status of \`${refund.status}\` and cannot fail.`);
  }
  const previous = { status: refund.status, failure_reason: null };
  refund.status = 'failed';
  refund.failure_reason = failureReason;
  const charge = engine.store.charges.get(refund.charge, 'charge');
  charge.amount_refunded = Math.max(0, charge.amount_refunded - refund.amount);
  charge.refunded = charge.amount_refunded >= charge.amount_captured;
  const listed = charge.refunds.data.find((r) => r.id === refund.id);
  if (listed && listed !== refund) Object.assign(listed, { status: refund.status, failure_reason: failureReason });
  engine.emit('refund.updated', refund, previous);
  engine.emit('refund.failed', refund);
  return refund;
}

export interface PayoutInput {
  status?: FakePayout['status'];
  amount?: number;
  currency?: string;
  failure_code?: string | null;
  failure_message?: string | null;
  created?: number | Date;
  arrival_date?: number | Date;
}

const toUnix = (value: number | Date): number => (value instanceof Date ? Math.floor(value.getTime() / 1000) : value);

/** A payout as Stripe's balance would have made it; emits payout.<status> for final statuses. */
export function createPayout(engine: FakeStripeEngine, input: PayoutInput = {}): FakePayout {
  const created = input.created === undefined ? engine.now() : toUnix(input.created);
  const status = input.status ?? 'paid';
  const failed = status === 'failed';
  const payout = engine.store.payouts.insert(
    newPayout({
      created,
      amount: input.amount ?? 10_000,
      currency: input.currency ?? 'usd',
      status,
      arrivalDate: input.arrival_date === undefined ? created + 2 * 86400 : toUnix(input.arrival_date),
      failureCode: input.failure_code ?? (failed ? 'account_closed' : null),
      failureMessage: input.failure_message ?? (failed ? 'The bank account has been closed.' : null),
    }),
  );
  if (status === 'paid' || status === 'failed' || status === 'canceled') engine.emit(`payout.${status}`, payout);
  return payout;
}

/** Where a payout can go from each status: canceled only while pending, failed even after paid (the bank returns it). */
const PAYOUT_MOVES: Record<FakePayout['status'], ReadonlyArray<FakePayout['status']>> = {
  pending: ['in_transit', 'paid', 'failed', 'canceled'],
  in_transit: ['paid', 'failed'],
  paid: ['failed'],
  failed: [],
  canceled: [],
};

/**
 * Moves a payout along its lifecycle as Stripe would: payout.updated (with the previous status),
 * then payout.paid / payout.failed / payout.canceled for those. A failed or canceled payout puts
 * the money back on the balance (failure_balance_transaction); a failure carries its code and
 * message. Failed and canceled are final.
 */
export function movePayout(engine: FakeStripeEngine, payoutId: string, status: FakePayout['status'], failure: { code?: string; message?: string } = {}): FakePayout {
  const payout = engine.store.payouts.get(payoutId, 'payout');
  if (!PAYOUT_MOVES[payout.status].includes(status)) {
    throw FakeStripeError.invalidRequest(`This payout has a status of \`${payout.status}\` and cannot become \`${status}\`.`);
  }
  const previous = { status: payout.status, failure_code: payout.failure_code, failure_message: payout.failure_message };
  payout.status = status;
  if (status === 'failed') {
    payout.failure_code = failure.code ?? 'account_closed';
    payout.failure_message = failure.message ?? 'The bank account has been closed.';
  }
  if (status === 'failed' || status === 'canceled') payout.failure_balance_transaction = `txn_${payout.id.slice(3)}_reversal`;
  if (status === 'paid') payout.reconciliation_status = 'completed';
  engine.emit('payout.updated', payout, previous);
  if (status === 'paid' || status === 'failed' || status === 'canceled') engine.emit(`payout.${status}`, payout);
  return payout;
}
