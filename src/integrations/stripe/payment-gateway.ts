/**
 * What Recoup needs from a payment gateway, in our words. Only the Stripe adapter knows Stripe.
 * Every write takes an idempotency key derived from our own ids.
 */
export type GatewayIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export interface GatewayPaymentIntent {
  id: string;
  status: GatewayIntentStatus;
  amountMinor: number;
  amountReceivedMinor: number;
  currency: string;
  paymentId: string | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  latestChargeId: string | null;
  stripeCustomerId: string | null;
  paymentMethodId: string | null;
  captureBefore: Date | null;
  /** From the latest charge (0 when it was not expanded or there is none). */
  amountRefundedMinor: number;
  disputed: boolean;
  created: Date;
}

export interface GatewayCheckoutSession {
  id: string;
  url: string | null;
  status: 'open' | 'complete' | 'expired';
  paymentStatus: 'paid' | 'unpaid' | 'no_payment_required';
  paymentIntentId: string | null;
  paymentId: string | null;
  expiresAt: Date;
  /** What the session charges (`amount_total`), null when Stripe does not say. */
  amountTotalMinor: number | null;
  currency: string | null;
}

/** A charge as the gateway has it now: the running refund total, and whether it is disputed. */
export interface GatewayCharge {
  id: string;
  paymentIntentId: string | null;
  amountMinor: number;
  amountCapturedMinor: number;
  amountRefundedMinor: number;
  currency: string;
  captured: boolean;
  refunded: boolean;
  disputed: boolean;
}

export interface CreateCheckoutInput {
  paymentId: string;
  amountMinor: number;
  currency: string;
  productName: string;
  manualCapture: boolean;
  customerEmail: string | null;
  expiresAt: Date;
  successUrl: string;
  cancelUrl: string;
  idempotencyKey: string;
}

export interface GatewayRefund {
  id: string;
  amountMinor: number;
  status: string;
}

export interface GatewayPayout {
  id: string;
  amountMinor: number;
  currency: string;
  status: 'paid' | 'pending' | 'in_transit' | 'canceled' | 'failed';
  failureCode: string | null;
  failureMessage: string | null;
  arrivalDate: Date;
  created: Date;
}

/** An event as the gateway stored it, for replaying through the webhook intake. */
export interface GatewayStoredEvent {
  id: string;
  type: string;
  created: Date;
  payload: Record<string, unknown>;
}

/** One page of a list, newest first; `created` is the half-open range [createdGte, createdLt). */
export interface GatewayListQuery {
  createdGte: Date;
  createdLt: Date;
  startingAfter?: string | null;
  limit?: number;
}

export interface GatewayPage<T> {
  data: T[];
  hasMore: boolean;
}

/** An off-session charge of a saved card (renewals and retries): created and confirmed at once. */
export interface OffSessionChargeInput {
  paymentId: string;
  retryJobId: string;
  amountMinor: number;
  currency: string;
  stripeCustomerId: string;
  stripePaymentMethodId: string;
  idempotencyKey: string;
}

export interface PaymentGateway {
  readonly mode: 'LIVE' | 'TEST' | 'SANDBOX';
  createCheckoutSession(input: CreateCheckoutInput): Promise<GatewayCheckoutSession>;
  /**
   * Expires an open session so it can no longer be paid. A session that is already expired is
   * returned as it is; one that was completed (paid) is returned too, so the caller can honour it.
   */
  expireCheckoutSession(id: string, idempotencyKey: string): Promise<GatewayCheckoutSession>;
  /** Refunds a PaymentIntent (the rest of it when amountMinor is omitted). */
  refundPaymentIntent(paymentIntentId: string, amountMinor: number | null, reason: string, idempotencyKey: string): Promise<GatewayRefund>;
  retrieveCheckoutSession(id: string): Promise<GatewayCheckoutSession>;
  /**
   * Charges a saved card without the customer present. Answers the confirmed intent; a decline
   * or any other failure throws a GatewayError (declineCode, adviceCode, retryable). The same
   * idempotency key and input answer the first result again, so a retry cannot charge twice.
   */
  createOffSessionCharge(input: OffSessionChargeInput): Promise<GatewayPaymentIntent>;
  /** With the latest charge expanded: captureBefore, refunds and disputes are filled in. */
  retrievePaymentIntent(id: string): Promise<GatewayPaymentIntent>;
  /** A charge as it is now, to check a webhook event's figures against. */
  retrieveCharge(id: string): Promise<GatewayCharge>;
  /**
   * The PaymentIntent (and our payment id, from metadata) a charge (ch_, py_), refund (re_, pyr_)
   * or dispute (dp_, du_) belongs to; null for an id of another kind. Not found at Stripe throws.
   */
  intentOfObject(id: string): Promise<{ paymentIntentId: string | null; paymentId: string | null } | null>;
  /** Captures an authorized PaymentIntent in full. */
  capturePaymentIntent(id: string, idempotencyKey: string): Promise<GatewayPaymentIntent>;
  /** Cancels a PaymentIntent; for an authorization this releases the hold on the card. */
  cancelPaymentIntent(id: string, idempotencyKey: string): Promise<GatewayPaymentIntent>;
  listPaymentIntents(query: GatewayListQuery): Promise<GatewayPage<GatewayPaymentIntent>>;
  listPayouts(query: GatewayListQuery): Promise<GatewayPage<GatewayPayout>>;
  /** Events whose webhook delivery has not succeeded (yet), of the given types. */
  listUndeliveredEvents(query: GatewayListQuery & { types: readonly string[] }): Promise<GatewayPage<GatewayStoredEvent>>;
  ping(): Promise<boolean>;
}
