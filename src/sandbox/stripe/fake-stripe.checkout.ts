import type { FakeStripeEngine } from './fake-stripe.engine';
import { FakeStripeError } from './fake-stripe.errors';
import { customerDetails, newCheckoutSession, newId } from './fake-stripe.objects';
import { asArray, asParams, metadataOf, optEnum, optInt, optString, reqInt, reqString, type Params } from './fake-stripe.params';
import { authorizePaymentIntent, createPaymentIntent, declinePaymentIntent } from './fake-stripe.payment-intents';
import type { CaptureMethod, FakeCheckoutSession, FakePaymentIntent } from './fake-stripe.types';

const MIN_LIFETIME_S = 30 * 60;
const MAX_LIFETIME_S = 24 * 60 * 60;
/** Clients compute expires_at a moment before Stripe checks it; allow that much drift. */
const EXPIRY_SLACK_S = 60;
const CAPTURE_METHODS: readonly CaptureMethod[] = ['automatic', 'automatic_async', 'manual'];

export function createCheckoutSession(engine: FakeStripeEngine, params: Params): FakeCheckoutSession {
  const mode = optString(params, 'mode');
  if (mode === undefined) throw FakeStripeError.missingParam('mode');
  if (mode !== 'payment') throw FakeStripeError.invalidParam('mode', `The fake supports mode=payment only, got ${mode}.`);
  const { amount, currency } = lineItemsTotal(params.line_items);
  const now = engine.now();
  const session = newCheckoutSession({
    created: now,
    expiresAt: expiresAt(params, now),
    amountTotal: amount,
    currency,
    payUrl: (id) => engine.payUrl(id),
    metadata: metadataOf(params),
    successUrl: optString(params, 'success_url') ?? null,
    cancelUrl: optString(params, 'cancel_url') ?? null,
    customerEmail: optString(params, 'customer_email') ?? null,
    clientReferenceId: optString(params, 'client_reference_id') ?? null,
  });
  const intentData = asParams(params.payment_intent_data);
  // Kept off the public object (Stripe does not echo it) and used when the customer pays.
  engine.store.checkoutIntentData.set(session.id, {
    metadata: metadataOf(intentData),
    captureMethod: optEnum(intentData, 'capture_method', CAPTURE_METHODS) ?? 'automatic',
    description: optString(intentData, 'description') ?? null,
  });
  engine.store.sessions.insert(session);
  return session;
}

function lineItemsTotal(raw: unknown): { amount: number; currency: string } {
  const items = asArray(raw);
  if (items.length === 0) throw FakeStripeError.missingParam('line_items');
  let amount = 0;
  let currency: string | undefined;
  items.forEach((item, index) => {
    const line = asParams(item);
    if (line.price !== undefined) {
      throw FakeStripeError.resourceMissing('price', String(line.price), `line_items[${index}][price]`);
    }
    const price = asParams(line.price_data);
    const itemCurrency = reqString(price, 'currency').toLowerCase();
    if (currency && currency !== itemCurrency) {
      throw FakeStripeError.invalidParam(`line_items[${index}][price_data][currency]`, 'All line items must use the same currency.');
    }
    currency = itemCurrency;
    const unit = reqInt(price, 'unit_amount');
    const quantity = optInt(line, 'quantity');
    if (quantity === undefined) throw FakeStripeError.missingParam(`line_items[${index}][quantity]`);
    reqString(asParams(price.product_data), 'name');
    amount += unit * quantity;
  });
  return { amount, currency: currency ?? 'usd' };
}

function expiresAt(params: Params, now: number): number {
  const requested = optInt(params, 'expires_at');
  if (requested === undefined) return now + MAX_LIFETIME_S;
  if (requested < now + MIN_LIFETIME_S - EXPIRY_SLACK_S || requested > now + MAX_LIFETIME_S + EXPIRY_SLACK_S) {
    // The values help when the caller's clock and the fake's differ (pass the same clock to both).
    throw FakeStripeError.invalidParam(
      'expires_at',
      `The \`expires_at\` timestamp must be at least 30 minutes and at most 24 hours from Checkout Session creation (expires_at=${requested}, now=${now}).`,
    );
  }
  return requested;
}

export interface CompleteCheckoutOptions {
  captureMethod?: 'automatic' | 'manual';
  email?: string;
  /** The cardholder's name and phone as typed on the page (customer_details, billing_details). */
  name?: string;
  phone?: string;
  /**
   * A delayed payment method (a bank debit): the session completes unpaid with the intent
   * `processing`, and settleAsyncCheckout later reports the outcome.
   */
  delayed?: boolean;
}

/** The customer paid on the hosted page: the session completes and an authorized intent appears. */
export function completeCheckout(
  engine: FakeStripeEngine,
  sessionId: string,
  options: CompleteCheckoutOptions = {},
): { session: FakeCheckoutSession; paymentIntent: FakePaymentIntent } {
  const session = engine.store.sessions.get(sessionId, 'session');
  if (session.status !== 'open') {
    throw FakeStripeError.invalidRequest(`This Checkout Session has a status of \`${session.status}\` and can no longer be paid.`);
  }
  const settings = engine.store.checkoutIntentData.get(session.id);
  const paymentIntent = createPaymentIntent(engine, {
    amount: session.amount_total,
    currency: session.currency,
    captureMethod: options.captureMethod ?? settings?.captureMethod ?? 'automatic',
    metadata: { ...(settings?.metadata ?? {}) },
    description: settings?.description,
  });
  const email = options.email ?? session.customer_email ?? 'sandbox@example.com';
  if (options.delayed) {
    paymentIntent.payment_method ??= newId('pm_');
    paymentIntent.status = 'processing';
    engine.emit('payment_intent.processing', paymentIntent);
  } else {
    authorizePaymentIntent(engine, paymentIntent, options.name || options.phone || options.email ? { email, name: options.name, phone: options.phone } : undefined);
  }
  session.status = 'complete';
  // An authorization (manual capture) is not money yet: Stripe reports the session unpaid until capture.
  session.payment_status = paymentIntent.status === 'succeeded' ? 'paid' : 'unpaid';
  session.payment_intent = paymentIntent.id;
  session.customer_details = customerDetails(email, { name: options.name, phone: options.phone });
  engine.emit('checkout.session.completed', session);
  return { session, paymentIntent };
}

/**
 * A delayed payment settles (completeCheckout with `delayed`): `succeeded` pays the intent and the
 * session (payment_intent.succeeded, then checkout.session.async_payment_succeeded); `failed`
 * leaves the intent requires_payment_method with last_payment_error and the session unpaid
 * (payment_intent.payment_failed, then checkout.session.async_payment_failed).
 * https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification
 */
export function settleAsyncCheckout(
  engine: FakeStripeEngine,
  sessionId: string,
  outcome: 'succeeded' | 'failed',
  decline: { code?: string; declineCode?: string } = {},
): { session: FakeCheckoutSession; paymentIntent: FakePaymentIntent } {
  const session = engine.store.sessions.get(sessionId, 'session');
  const paymentIntent = session.payment_intent ? engine.store.paymentIntents.find(session.payment_intent) : undefined;
  if (session.status !== 'complete' || !paymentIntent || paymentIntent.status !== 'processing') {
    throw FakeStripeError.invalidRequest(`Checkout Session ${session.id} has no payment processing to settle.`);
  }
  if (outcome === 'succeeded') {
    authorizePaymentIntent(engine, paymentIntent);
    session.payment_status = 'paid';
    engine.emit('checkout.session.async_payment_succeeded', session);
  } else {
    declinePaymentIntent(engine, paymentIntent, { code: decline.code ?? 'insufficient_funds', declineCode: decline.declineCode });
    engine.emit('checkout.session.async_payment_failed', session);
  }
  return { session, paymentIntent };
}

export function expireCheckout(engine: FakeStripeEngine, sessionId: string): FakeCheckoutSession {
  const session = engine.store.sessions.get(sessionId, 'session');
  if (session.status !== 'open') {
    // Stripe's production wording, which clients match to learn the customer already paid.
    throw FakeStripeError.invalidRequest(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${session.status}\`.`,
    );
  }
  session.status = 'expired';
  session.url = null;
  engine.emit('checkout.session.expired', session);
  return session;
}
