import type Stripe from 'stripe';

export type { Clock } from '../../platform/shared/clock';

/**
 * The fields of each Stripe object that the fake reads or changes. Objects also carry the rest
 * of the shape Stripe returns (see fake-stripe.objects.ts), hence the open index signature.
 */
export interface StripeObject {
  id: string;
  object: string;
  created: number;
  [field: string]: unknown;
}

export type Metadata = Record<string, string>;

export interface FakeCheckoutSession extends StripeObject {
  object: 'checkout.session';
  status: 'open' | 'complete' | 'expired';
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  amount_total: number;
  amount_subtotal: number;
  currency: string;
  payment_intent: string | null;
  metadata: Metadata;
  customer_email: string | null;
  success_url: string | null;
  cancel_url: string | null;
  expires_at: number;
  url: string | null;
}

export interface CheckoutIntentData {
  metadata: Metadata;
  captureMethod: CaptureMethod;
  description: string | null;
}

export type PaymentIntentStatus = Stripe.PaymentIntent.Status;
export type CaptureMethod = 'automatic' | 'automatic_async' | 'manual';

export interface LastPaymentError {
  type: 'card_error';
  code: string;
  decline_code?: string;
  advice_code?: string;
  message: string;
  charge?: string;
}

export interface FakePaymentIntent extends StripeObject {
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: PaymentIntentStatus;
  capture_method: CaptureMethod;
  customer: string | null;
  payment_method: string | null;
  latest_charge: string | null;
  last_payment_error: LastPaymentError | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  metadata: Metadata;
}

export interface FakeCharge extends StripeObject {
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  paid: boolean;
  refunded: boolean;
  disputed: boolean;
  status: 'succeeded' | 'pending' | 'failed';
  currency: string;
  payment_intent: string | null;
  failure_code: string | null;
  failure_message: string | null;
  refunds: { object: 'list'; data: FakeRefund[]; has_more: boolean; url: string };
  metadata: Metadata;
}

export interface FakeRefund extends StripeObject {
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string | null;
  currency: string;
  status: 'succeeded' | 'pending' | 'failed' | 'canceled';
  reason: string | null;
  /** Set when the refund failed: lost_or_stolen_card, expired_or_canceled_card, charge_for_pending_refund_disputed, insufficient_funds, declined, merchant_request, unknown. */
  failure_reason?: string | null;
  metadata: Metadata;
}

export interface FakePayout extends StripeObject {
  object: 'payout';
  amount: number;
  currency: string;
  status: 'paid' | 'pending' | 'in_transit' | 'canceled' | 'failed';
  arrival_date: number;
  failure_code: string | null;
  failure_message: string | null;
}

export interface FakeDispute extends StripeObject {
  object: 'dispute';
  amount: number;
  charge: string;
  payment_intent: string | null;
  reason: string;
  status: string;
}

export interface FakeEvent extends StripeObject {
  object: 'event';
  type: string;
  api_version: string;
  data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

export interface StripeList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/** A response as sent: status and JSON text, frozen so an idempotent replay is byte-identical. */
export interface ApiResult {
  status: number;
  body: string;
}
