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
  retrievePaymentIntent(id: string): Promise<GatewayPaymentIntent>;
  ping(): Promise<boolean>;
}
