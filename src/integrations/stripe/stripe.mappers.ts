import type Stripe from 'stripe';
import type { GatewayCharge, GatewayCheckoutSession, GatewayIntentStatus, GatewayListQuery, GatewayPaymentIntent, GatewayPayout, GatewayStoredEvent } from './payment-gateway';

export const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : value.id;

/** The latest charge when the caller expanded it (`expand: ['latest_charge']`), else null. */
function expandedCharge(pi: Stripe.PaymentIntent): Stripe.Charge | null {
  const charge = pi.latest_charge as Stripe.Charge | string | null;
  return typeof charge === 'object' && charge ? charge : null;
}

/** Stripe reports the authorization deadline on the latest charge's card details. */
function captureBeforeOf(charge: Stripe.Charge | null): Date | null {
  const seconds = charge?.payment_method_details?.card?.capture_before;
  return seconds ? new Date(seconds * 1000) : null;
}

export function mapPaymentIntent(pi: Stripe.PaymentIntent): GatewayPaymentIntent {
  const charge = expandedCharge(pi);
  return {
    id: pi.id,
    status: pi.status as GatewayIntentStatus,
    amountMinor: pi.amount,
    amountReceivedMinor: pi.amount_received ?? 0,
    currency: pi.currency,
    paymentId: pi.metadata?.paymentId ?? null,
    lastErrorCode: pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code ?? null,
    lastErrorMessage: pi.last_payment_error?.message ?? null,
    latestChargeId: idOf(pi.latest_charge as string | { id: string } | null),
    stripeCustomerId: idOf(pi.customer as string | { id: string } | null),
    paymentMethodId: idOf(pi.payment_method as string | { id: string } | null),
    captureBefore: captureBeforeOf(charge),
    amountRefundedMinor: charge?.amount_refunded ?? 0,
    disputed: charge?.disputed ?? false,
    created: new Date(pi.created * 1000),
  };
}

export function mapCheckoutSession(session: Stripe.Checkout.Session): GatewayCheckoutSession {
  return {
    id: session.id,
    url: session.url,
    status: (session.status ?? 'open') as GatewayCheckoutSession['status'],
    paymentStatus: session.payment_status as GatewayCheckoutSession['paymentStatus'],
    paymentIntentId: idOf(session.payment_intent as string | { id: string } | null),
    paymentId: session.metadata?.paymentId ?? session.client_reference_id ?? null,
    expiresAt: new Date(session.expires_at * 1000),
    amountTotalMinor: session.amount_total ?? null,
    currency: session.currency ?? null,
  };
}

export function mapCharge(charge: Stripe.Charge): GatewayCharge {
  return {
    id: charge.id,
    paymentIntentId: idOf(charge.payment_intent as string | { id: string } | null),
    amountMinor: charge.amount,
    amountCapturedMinor: charge.amount_captured,
    amountRefundedMinor: charge.amount_refunded,
    currency: charge.currency,
    captured: charge.captured,
    refunded: charge.refunded,
    disputed: charge.disputed,
  };
}

export function mapPayout(payout: Stripe.Payout): GatewayPayout {
  return {
    id: payout.id,
    amountMinor: payout.amount,
    currency: payout.currency,
    status: payout.status as GatewayPayout['status'],
    failureCode: payout.failure_code ?? null,
    failureMessage: payout.failure_message ?? null,
    arrivalDate: new Date(payout.arrival_date * 1000),
    created: new Date(payout.created * 1000),
  };
}

export function mapStoredEvent(event: Stripe.Event): GatewayStoredEvent {
  return { id: event.id, type: event.type, created: new Date(event.created * 1000), payload: event as unknown as Record<string, unknown> };
}

const unix = (date: Date): number => Math.floor(date.getTime() / 1000);
const LIST_LIMIT = 100;

/** Stripe's list parameters for a half-open `created` range, 100 per page. */
export function listParams(query: GatewayListQuery): { created: { gte: number; lt: number }; limit: number; starting_after?: string } {
  return {
    created: { gte: unix(query.createdGte), lt: unix(query.createdLt) },
    limit: query.limit ?? LIST_LIMIT,
    ...(query.startingAfter ? { starting_after: query.startingAfter } : {}),
  };
}

/** The PaymentIntent a 400 "unexpected state" carries: what the intent is now. */
export function intentInError(error: unknown): Stripe.PaymentIntent | null {
  const e = error as { statusCode?: number; code?: string; payment_intent?: Stripe.PaymentIntent; raw?: { payment_intent?: Stripe.PaymentIntent } };
  if (e.statusCode !== 400 || e.code !== 'payment_intent_unexpected_state') return null;
  return e.payment_intent ?? e.raw?.payment_intent ?? null;
}
