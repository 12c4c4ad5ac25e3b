import type Stripe from 'stripe';

/** A verified Stripe event, as the HTTP layer sees it (only src/integrations/stripe/ knows the SDK). */
export type VerifiedStripeEvent = Stripe.Event;

/**
 * Verifies Stripe-Signature on the raw body with the SDK's default tolerance (300 s), against each
 * configured secret in turn: while an endpoint secret is rolled, Stripe signs with both, and an
 * event verified by any of them is accepted.
 */
export class StripeWebhookVerifier {
  private readonly secrets: string[];

  constructor(
    private readonly stripe: Stripe,
    secrets: string | string[],
  ) {
    this.secrets = Array.isArray(secrets) ? secrets : [secrets];
    if (this.secrets.length === 0) throw new Error('StripeWebhookVerifier needs at least one secret');
  }

  verify(rawBody: Buffer, signature: string | undefined): Stripe.Event {
    if (!signature) throw new Error('Missing Stripe-Signature header');
    const event = this.constructEvent(rawBody, signature);
    if (!event || typeof event.id !== 'string' || typeof event.type !== 'string' || !event.data?.object) {
      throw new Error('Body is not a Stripe event');
    }
    return event;
  }

  /** The event verified by the first secret that signs it; the first secret's error when none does. */
  private constructEvent(rawBody: Buffer, signature: string): Stripe.Event {
    let firstError: unknown;
    for (const secret of this.secrets) {
      try {
        return this.stripe.webhooks.constructEvent(rawBody, signature, secret);
      } catch (error) {
        firstError ??= error;
      }
    }
    throw firstError;
  }
}
