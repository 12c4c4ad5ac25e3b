import type { FakeStripeEngine, ProgrammedDecline } from './fake-stripe.engine';
import { declineMessage, FakeStripeError } from './fake-stripe.errors';
import { newCharge, newId, newPaymentIntent, type PayerDetails } from './fake-stripe.objects';
import type { CaptureMethod, FakeCharge, FakePaymentIntent, Metadata, PaymentIntentStatus } from './fake-stripe.types';

export interface PaymentIntentInput {
  amount: number;
  currency: string;
  captureMethod?: CaptureMethod;
  metadata?: Metadata;
  customer?: string | null;
  paymentMethod?: string | null;
  description?: string | null;
  confirm?: boolean;
}

const CANCELABLE: readonly PaymentIntentStatus[] = [
  'requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing',
];
const CONFIRMABLE: readonly PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

export function createPaymentIntent(engine: FakeStripeEngine, input: PaymentIntentInput): FakePaymentIntent {
  if (input.amount < 1) throw FakeStripeError.invalidParam('amount', 'Amount must be at least 1 unit.', 'amount_too_small');
  const pi = engine.store.paymentIntents.insert(
    newPaymentIntent({
      created: engine.now(),
      amount: input.amount,
      currency: input.currency.toLowerCase(),
      captureMethod: input.captureMethod ?? 'automatic',
      metadata: input.metadata ?? {},
      customer: input.customer ?? null,
      paymentMethod: input.paymentMethod ?? null,
      description: input.description,
    }),
  );
  engine.emit('payment_intent.created', pi);
  return input.confirm ? confirmPaymentIntent(engine, pi) : pi;
}

/** Confirming authorizes the card: a programmed decline fails it, otherwise it succeeds (or holds). */
export function confirmPaymentIntent(engine: FakeStripeEngine, pi: FakePaymentIntent, paymentMethod?: string): FakePaymentIntent {
  if (paymentMethod) pi.payment_method = paymentMethod;
  if (!CONFIRMABLE.includes(pi.status)) {
    throw FakeStripeError.unexpectedPaymentIntentState(
      `This PaymentIntent's status is ${pi.status}, but it must be one of ${CONFIRMABLE.join(', ')} to be confirmed.`,
      structuredClone(pi),
    );
  }
  if (!pi.payment_method) {
    throw FakeStripeError.invalidRequest(
      "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
      'payment_intent_unexpected_state',
    );
  }
  const decline = engine.takeDecline();
  if (decline) throw declinePaymentIntent(engine, pi, decline);
  return authorizePaymentIntent(engine, pi);
}

export function authorizePaymentIntent(engine: FakeStripeEngine, pi: FakePaymentIntent, payer?: PayerDetails): FakePaymentIntent {
  pi.payment_method ??= newId('pm_');
  const charge = engine.store.charges.insert(newCharge(pi, engine.now(), undefined, payer));
  pi.latest_charge = charge.id;
  pi.last_payment_error = null;
  if (pi.capture_method === 'manual') {
    pi.status = 'requires_capture';
    pi.amount_capturable = pi.amount;
    engine.emit('charge.succeeded', charge);
    engine.emit('payment_intent.amount_capturable_updated', pi);
  } else {
    pi.status = 'succeeded';
    pi.amount_received = pi.amount;
    engine.emit('charge.succeeded', charge);
    engine.emit('payment_intent.succeeded', pi);
  }
  return pi;
}

/**
 * A failed confirmation leaves the PaymentIntent in requires_payment_method with
 * last_payment_error set and a failed charge, and answers 402 with the intent inside the error,
 * as Stripe does. https://docs.stripe.com/declines/codes
 */
export function declinePaymentIntent(engine: FakeStripeEngine, pi: FakePaymentIntent, decline: ProgrammedDecline): FakeStripeError {
  const declineCode = decline.declineCode ?? (decline.code === 'card_declined' ? 'generic_decline' : undefined);
  const message = declineMessage(decline.code, declineCode);
  pi.payment_method ??= newId('pm_');
  const charge = engine.store.charges.insert(newCharge(pi, engine.now(), { code: decline.code, message }));
  pi.status = 'requires_payment_method';
  pi.latest_charge = charge.id;
  const adviceCode = decline.adviceCode;
  pi.last_payment_error = { type: 'card_error', code: decline.code, decline_code: declineCode, advice_code: adviceCode, message, charge: charge.id };
  engine.emit('charge.failed', charge);
  engine.emit('payment_intent.payment_failed', pi);
  return new FakeStripeError(402, {
    type: 'card_error',
    code: decline.code,
    decline_code: declineCode,
    advice_code: adviceCode,
    message,
    charge: charge.id,
    payment_intent: structuredClone(pi),
  });
}

export function capturePaymentIntent(engine: FakeStripeEngine, pi: FakePaymentIntent, amountToCapture?: number): FakePaymentIntent {
  if (pi.status !== 'requires_capture') {
    throw FakeStripeError.unexpectedPaymentIntentState(
      `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      structuredClone(pi),
    );
  }
  const amount = amountToCapture ?? pi.amount_capturable;
  if (amount < 1 || amount > pi.amount_capturable) {
    throw FakeStripeError.invalidParam('amount_to_capture', 'The amount to capture must be at least 1 and at most the amount capturable.', 'amount_too_large');
  }
  const charge = latestCharge(engine, pi);
  if (charge) {
    charge.captured = true;
    charge.amount_captured = amount;
    // The uncaptured remainder of the hold is released, which Stripe reports as refunded.
    charge.amount_refunded = charge.amount - amount;
    engine.emit('charge.captured', charge);
  }
  pi.status = 'succeeded';
  pi.amount_received = amount;
  pi.amount_capturable = 0;
  engine.emit('payment_intent.succeeded', pi);
  return pi;
}

export function cancelPaymentIntent(engine: FakeStripeEngine, pi: FakePaymentIntent, reason?: string): FakePaymentIntent {
  if (!CANCELABLE.includes(pi.status)) {
    throw FakeStripeError.unexpectedPaymentIntentState(
      `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
      structuredClone(pi),
    );
  }
  const charge = latestCharge(engine, pi);
  if (pi.status === 'requires_capture' && charge) {
    charge.amount_refunded = charge.amount;
    charge.refunded = true;
    engine.emit('charge.refunded', charge);
  }
  pi.status = 'canceled';
  pi.amount_capturable = 0;
  pi.canceled_at = engine.now();
  pi.cancellation_reason = reason ?? null;
  engine.emit('payment_intent.canceled', pi);
  return pi;
}

export function updatePaymentIntent(
  pi: FakePaymentIntent,
  changes: { metadata?: Record<string, unknown>; description?: string },
): FakePaymentIntent {
  for (const [key, value] of Object.entries(changes.metadata ?? {})) {
    // Setting a key to '' deletes it, as in Stripe's metadata updates.
    if (value === '') delete pi.metadata[key];
    else if (typeof value === 'string') pi.metadata[key] = value;
  }
  if (changes.description !== undefined) pi.description = changes.description;
  return pi;
}

/** For planted discrepancies: move the intent to any status, keeping amounts plausible. */
export function forcePaymentIntentStatus(pi: FakePaymentIntent, status: PaymentIntentStatus): FakePaymentIntent {
  pi.status = status;
  pi.amount_received = status === 'succeeded' ? pi.amount : 0;
  pi.amount_capturable = status === 'requires_capture' ? pi.amount : 0;
  return pi;
}

export function latestCharge(engine: FakeStripeEngine, pi: FakePaymentIntent): FakeCharge | undefined {
  return pi.latest_charge ? engine.store.charges.find(pi.latest_charge) : undefined;
}
