import { registerEnumType } from 'type-graphql';

/**
 * How a payment is collected. CHECKOUT: the customer pays on a Stripe Checkout page. RENEWAL: an
 * off-session charge of the saved card that extends a running subscription (the customer is
 * already in the channels, so nothing is delivered). OFF_SESSION: any other charge of a saved
 * card (chargeWithRetry), delivered like a checkout.
 */
export enum PaymentKind {
  CHECKOUT = 'CHECKOUT',
  RENEWAL = 'RENEWAL',
  OFF_SESSION = 'OFF_SESSION',
}
registerEnumType(PaymentKind, { name: 'PaymentKind' });
