import type Stripe from 'stripe';

/**
 * What a Stripe event says happened, as a typed fact: pure (no I/O, no clock), so it is tested on
 * Stripe's own example objects. Deciding what the fact means for a payment is the applier's work
 * (src/payments/stripe-events.ts).
 *
 * Money figures are copied as the event states them, `unknown`: an event is not trusted to hold
 * whole, non-negative numbers, and the money checks (src/payments/event-money.ts) say so.
 */

/** Every event type that becomes a fact other than Ignored. */
export const STRIPE_FACT_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'payment_intent.amount_capturable_updated',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.closed',
  'refund.updated',
  'refund.failed',
  'payout.paid',
  'payout.failed',
  'payout.canceled',
  'payout.updated',
] as const;

export type StripeFactEventType = (typeof STRIPE_FACT_EVENT_TYPES)[number];

/** How the event names its payment: our id (metadata or client_reference_id) and Stripe's ids. */
export interface StripeRef {
  paymentId: string | null;
  intentId: string | null;
  sessionId: string | null;
  chargeId: string | null;
}

interface FactBase {
  eventType: string;
  /** The event's snapshot may be stale (events arrive out of order): read the object from Stripe before acting. */
  reRead: boolean;
}

interface PaymentFactBase extends FactBase {
  ref: StripeRef;
}

/** payment_intent.succeeded: final, applied from the snapshot (`intent`) when its money fits. */
export interface PaymentSucceeded extends PaymentFactBase {
  kind: 'PaymentSucceeded';
  reRead: false;
  intentId: string;
  money: { amountMinor: unknown; receivedMinor: unknown; currency: unknown };
  intent: Stripe.PaymentIntent;
}

/** checkout.session.completed or async_payment_succeeded. Unpaid: an authorization or a delayed method; the intent says which. */
export interface CheckoutCompleted extends PaymentFactBase {
  kind: 'CheckoutCompleted';
  reRead: false;
  sessionId: string;
  /** `no_payment_required` counts as unpaid: only the intent can say money was taken. */
  paymentStatus: 'paid' | 'unpaid';
  money: { amountMinor: unknown; currency: unknown };
}

/**
 * payment_intent.payment_failed, payment_intent.canceled, payment_intent.amount_capturable_updated:
 * Stripe's intent decides. checkout.session.async_payment_failed is a PaymentFailed of the
 * session's intent (a delayed method, e.g. a bank debit, that did not go through).
 */
export interface IntentChanged extends PaymentFactBase {
  kind: 'PaymentFailed' | 'Canceled' | 'Authorized';
  reRead: true;
  intentId: string;
}

/** checkout.session.expired: the session may have completed since; Stripe's session decides. */
export interface CheckoutExpired extends PaymentFactBase {
  kind: 'CheckoutExpired';
  reRead: true;
  sessionId: string;
}

/** charge.refunded: `refunded` is the charge's running total. An uncaptured charge "refunded" is a released hold. */
export interface Refunded extends PaymentFactBase {
  kind: 'Refunded';
  reRead: false;
  chargeId: string;
  captured: unknown;
  money: { amountMinor: unknown; refundedMinor: unknown; currency: unknown };
}

/** charge.dispute.created: records no money; the amount is quoted and checked. */
export interface Disputed extends PaymentFactBase {
  kind: 'Disputed';
  reRead: false;
  disputeId: string;
  /** The disputed charge, to ask Stripe about when the event's figures do not fit. */
  chargeId: string | null;
  reason: string;
  money: { disputedMinor: unknown; currency: unknown };
}

/**
 * charge.dispute.closed: `status` as Stripe closed it. `won` and `warning_closed` (an inquiry
 * that never became a chargeback) leave the money with us; `lost` means the bank took it back.
 */
export interface DisputeClosed extends PaymentFactBase {
  kind: 'DisputeClosed';
  reRead: false;
  disputeId: string;
  chargeId: string | null;
  status: string;
  money: { disputedMinor: unknown; currency: unknown };
}

/**
 * refund.failed, or refund.updated with status failed: the money did not reach the customer and
 * went back to our balance. Stripe sends both for one failure; applying it is idempotent.
 */
export interface RefundFailed extends PaymentFactBase {
  kind: 'RefundFailed';
  reRead: false;
  refundId: string;
  chargeId: string | null;
  failureReason: string;
  money: { amountMinor: unknown; currency: unknown };
}

export interface Payout extends FactBase {
  kind: 'Payout';
  reRead: false;
  /** From the event type: payout.updated is any other change of the payout. */
  status: 'paid' | 'failed' | 'canceled' | 'updated';
  payout: Stripe.Payout;
}

export interface Ignored extends FactBase {
  kind: 'Ignored';
  reRead: false;
  reason: string;
}

export type StripeFact =
  | PaymentSucceeded
  | CheckoutCompleted
  | IntentChanged
  | CheckoutExpired
  | Refunded
  | Disputed
  | DisputeClosed
  | RefundFailed
  | Payout
  | Ignored;

type Loose = Record<string, unknown>;

/** An id from a field Stripe sends either as the id or as the expanded object. */
const idOf = (value: unknown): string | null => (typeof value === 'string' ? value : ((value as { id?: string } | null)?.id ?? null));
const metadataId = (object: Loose): string | null => ((object.metadata ?? {}) as Record<string, string>).paymentId ?? null;

const INTENT_CHANGES = {
  'payment_intent.payment_failed': 'PaymentFailed',
  'payment_intent.canceled': 'Canceled',
  'payment_intent.amount_capturable_updated': 'Authorized',
} as const;

export function stripeFact(event: Stripe.Event): StripeFact {
  const eventType = event.type as string;
  const object = event.data.object as unknown as Loose;
  switch (eventType) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = object as unknown as Stripe.Checkout.Session;
      const ref = { paymentId: session.metadata?.paymentId ?? session.client_reference_id ?? null, intentId: idOf(session.payment_intent), sessionId: session.id, chargeId: null };
      const paymentStatus = session.payment_status === 'paid' ? 'paid' : 'unpaid';
      return { kind: 'CheckoutCompleted', eventType, reRead: false, ref, sessionId: session.id, paymentStatus, money: { amountMinor: session.amount_total, currency: session.currency } };
    }
    case 'checkout.session.async_payment_failed': {
      const session = object as unknown as Stripe.Checkout.Session;
      const intentId = idOf(session.payment_intent);
      if (!intentId) return { kind: 'Ignored', eventType, reRead: false, reason: 'the session names no payment intent to re-read' };
      const ref = { paymentId: session.metadata?.paymentId ?? session.client_reference_id ?? null, intentId, sessionId: session.id, chargeId: null };
      return { kind: 'PaymentFailed', eventType, reRead: true, ref, intentId };
    }
    case 'checkout.session.expired': {
      const session = object as unknown as Stripe.Checkout.Session;
      // Found by our id or the session alone: an expired session took no money through any intent.
      const ref = { paymentId: session.metadata?.paymentId ?? session.client_reference_id ?? null, intentId: null, sessionId: session.id, chargeId: null };
      return { kind: 'CheckoutExpired', eventType, reRead: true, ref, sessionId: session.id };
    }
    case 'payment_intent.succeeded': {
      const intentId = String(object.id);
      const ref = { paymentId: metadataId(object), intentId, sessionId: null, chargeId: null };
      const money = { amountMinor: object.amount, receivedMinor: object.amount_received, currency: object.currency };
      return { kind: 'PaymentSucceeded', eventType, reRead: false, ref, intentId, money, intent: object as unknown as Stripe.PaymentIntent };
    }
    case 'payment_intent.payment_failed':
    case 'payment_intent.canceled':
    case 'payment_intent.amount_capturable_updated': {
      const intentId = String(object.id);
      const ref = { paymentId: metadataId(object), intentId, sessionId: null, chargeId: null };
      return { kind: INTENT_CHANGES[eventType], eventType, reRead: true, ref, intentId };
    }
    case 'charge.refunded': {
      const chargeId = String(object.id);
      const ref = { paymentId: metadataId(object), intentId: idOf(object.payment_intent), sessionId: null, chargeId };
      const money = { amountMinor: object.amount, refundedMinor: object.amount_refunded, currency: object.currency };
      return { kind: 'Refunded', eventType, reRead: false, ref, chargeId, captured: object.captured, money };
    }
    case 'charge.dispute.created': {
      const chargeId = idOf(object.charge);
      const ref = { paymentId: metadataId(object), intentId: idOf(object.payment_intent), sessionId: null, chargeId };
      const money = { disputedMinor: object.amount, currency: object.currency };
      return { kind: 'Disputed', eventType, reRead: false, ref, disputeId: String(object.id), chargeId, reason: String(object.reason ?? 'no reason'), money };
    }
    case 'charge.dispute.closed': {
      const chargeId = idOf(object.charge);
      const ref = { paymentId: metadataId(object), intentId: idOf(object.payment_intent), sessionId: null, chargeId };
      const money = { disputedMinor: object.amount, currency: object.currency };
      return { kind: 'DisputeClosed', eventType, reRead: false, ref, disputeId: String(object.id), chargeId, status: String(object.status ?? 'unknown'), money };
    }
    case 'refund.updated':
    case 'refund.failed': {
      // A refund.updated is any change of the refund; only its failure is news.
      if (object.status !== 'failed') return { kind: 'Ignored', eventType, reRead: false, reason: `the refund is ${String(object.status)}, not failed` };
      const chargeId = idOf(object.charge);
      const ref = { paymentId: metadataId(object), intentId: idOf(object.payment_intent), sessionId: null, chargeId };
      const money = { amountMinor: object.amount, currency: object.currency };
      const failureReason = String(object.failure_reason ?? 'unknown');
      return { kind: 'RefundFailed', eventType, reRead: false, ref, refundId: String(object.id), chargeId, failureReason, money };
    }
    case 'payout.paid':
    case 'payout.failed':
    case 'payout.canceled':
    case 'payout.updated': {
      const status = eventType.slice('payout.'.length) as Payout['status'];
      return { kind: 'Payout', eventType, reRead: false, status, payout: object as unknown as Stripe.Payout };
    }
    default:
      return { kind: 'Ignored', eventType, reRead: false, reason: 'not a type Recoup acts on' };
  }
}
