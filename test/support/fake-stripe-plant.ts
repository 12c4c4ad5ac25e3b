import type { FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { AUTHORIZATION_VALIDITY_S, newCharge, newPaymentIntent } from '../../src/sandbox/stripe/fake-stripe.objects';
import type { FakePaymentIntent, PaymentIntentStatus } from '../../src/sandbox/stripe/fake-stripe.types';

export interface IntentSpec {
  status: PaymentIntentStatus;
  amount?: number;
  /** Refunded on the charge (0 default). */
  refunded?: number;
  captureBefore?: Date;
  /** undefined: the payment's id; null: no metadata; a string: that id. */
  metadataPaymentId?: string | null;
  created: Date;
}

export const unix = (date: Date): number => Math.floor(date.getTime() / 1000);

/** Puts a PaymentIntent (and its charge, once it was paid) into the fake, without events. */
export function plantIntent(stripe: FakeStripe, spec: IntentSpec, paymentId: string | null, id?: string): FakePaymentIntent {
  const manual = spec.status === 'requires_capture';
  const named = spec.metadataPaymentId === undefined ? paymentId : spec.metadataPaymentId;
  const metadata: Record<string, string> = named ? { paymentId: named } : {};
  const created = unix(spec.created);
  const pi = newPaymentIntent({ created, amount: spec.amount ?? 2500, currency: 'usd', captureMethod: manual ? 'manual' : 'automatic', metadata, customer: null, paymentMethod: 'pm_card_visa' });
  if (id) pi.id = id;
  const paid = spec.status === 'succeeded' || manual || (spec.status === 'canceled' && Boolean(spec.captureBefore));
  if (paid) {
    const charge = stripe.store.charges.insert(newCharge(pi, created));
    charge.amount_refunded = spec.refunded ?? 0;
    charge.refunded = charge.amount_refunded >= charge.amount;
    const card = (charge.payment_method_details as { card: Record<string, unknown> }).card;
    if (manual) (charge.payment_method_details as { card: Record<string, unknown> }).card = { ...card, capture_before: spec.captureBefore ? unix(spec.captureBefore) : created + AUTHORIZATION_VALIDITY_S };
    pi.latest_charge = charge.id;
  }
  pi.status = spec.status;
  pi.amount_received = spec.status === 'succeeded' ? pi.amount : 0;
  pi.amount_capturable = manual ? pi.amount : 0;
  return stripe.store.paymentIntents.insert(pi);
}

