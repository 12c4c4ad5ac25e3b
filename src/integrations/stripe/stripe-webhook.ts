import type Stripe from 'stripe';

/** A verified Stripe event, as the HTTP layer sees it (only src/integrations/stripe/ knows the SDK). */
export type VerifiedStripeEvent = Stripe.Event;

/** Verifies Stripe-Signature on the raw body with the SDK's default tolerance (300 s). */
export class StripeWebhookVerifier {
  constructor(
    private readonly stripe: Stripe,
    private readonly secret: string,
  ) {}

  verify(rawBody: Buffer, signature: string | undefined): Stripe.Event {
    if (!signature) throw new Error('Missing Stripe-Signature header');
    const event = this.stripe.webhooks.constructEvent(rawBody, signature, this.secret);
    if (!event || typeof event.id !== 'string' || typeof event.type !== 'string' || !event.data?.object) {
      throw new Error('Body is not a Stripe event');
    }
    return event;
  }
}
