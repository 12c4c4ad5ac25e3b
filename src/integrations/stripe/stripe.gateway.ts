import Stripe from 'stripe';
import type { Config } from '../../platform/config';
import { toGatewayError } from './gateway.errors';
import type {
  CreateCheckoutInput,
  GatewayCharge,
  GatewayCheckoutSession,
  GatewayListQuery,
  GatewayPage,
  GatewayPaymentIntent,
  GatewayPayout,
  GatewayRefund,
  GatewayStoredEvent,
  OffSessionChargeInput,
  PaymentGateway,
} from './payment-gateway';
import { intentInError, listParams, mapCharge, mapCheckoutSession, mapPaymentIntent, mapPayout, mapStoredEvent } from './stripe.mappers';

export function createStripeClient(config: Config['stripe']): Stripe {
  const options: Stripe.StripeConfig = {
    // The SDK retries with the same idempotency key, so its retries cannot double a write.
    maxNetworkRetries: config.maxNetworkRetries,
    timeout: config.timeoutMs,
    appInfo: { name: 'recoup' },
  };
  if (config.apiUrl) {
    const url = new URL(config.apiUrl);
    options.host = url.hostname;
    options.port = url.port || (url.protocol === 'https:' ? '443' : '80');
    options.protocol = url.protocol.replace(':', '') as 'http' | 'https';
  }
  return new Stripe(config.secretKey, options);
}

export { mapCheckoutSession, mapPaymentIntent } from './stripe.mappers';

export class StripeGateway implements PaymentGateway {
  constructor(
    readonly stripe: Stripe,
    readonly mode: 'LIVE' | 'TEST' | 'SANDBOX',
  ) {}

  async createCheckoutSession(input: CreateCheckoutInput): Promise<GatewayCheckoutSession> {
    return this.call(async () =>
      mapCheckoutSession(
        await this.stripe.checkout.sessions.create(
          {
            mode: 'payment',
            client_reference_id: input.paymentId,
            metadata: { paymentId: input.paymentId },
            payment_intent_data: {
              metadata: { paymentId: input.paymentId },
              capture_method: input.manualCapture ? 'manual' : 'automatic',
              // Saves the card for off-session renewal charges (dunning).
              setup_future_usage: 'off_session',
            },
            customer_creation: 'always',
            line_items: [
              {
                quantity: 1,
                price_data: { currency: input.currency, unit_amount: input.amountMinor, product_data: { name: input.productName } },
              },
            ],
            customer_email: input.customerEmail ?? undefined,
            expires_at: Math.floor(input.expiresAt.getTime() / 1000),
            success_url: input.successUrl,
            cancel_url: input.cancelUrl,
          },
          { idempotencyKey: input.idempotencyKey },
        ),
      ),
    );
  }

  async expireCheckoutSession(id: string, idempotencyKey: string): Promise<GatewayCheckoutSession> {
    try {
      return mapCheckoutSession(await this.stripe.checkout.sessions.expire(id, {}, { idempotencyKey }));
    } catch (error) {
      // Stripe refuses to expire a session that is not open (already expired, or paid): the
      // session's own state is the answer, and the caller decides what it means.
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 400) return this.retrieveCheckoutSession(id);
      throw toGatewayError(error);
    }
  }

  async refundPaymentIntent(paymentIntentId: string, amountMinor: number | null, reason: string, idempotencyKey: string): Promise<GatewayRefund> {
    return this.call(async () => {
      const refund = await this.stripe.refunds.create(
        { payment_intent: paymentIntentId, ...(amountMinor ? { amount: amountMinor } : {}), metadata: { reason } },
        { idempotencyKey },
      );
      return { id: refund.id, amountMinor: refund.amount, status: refund.status ?? 'pending' };
    });
  }

  // https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method
  async createOffSessionCharge(input: OffSessionChargeInput): Promise<GatewayPaymentIntent> {
    return this.call(async () =>
      mapPaymentIntent(
        await this.stripe.paymentIntents.create(
          {
            amount: input.amountMinor,
            currency: input.currency,
            customer: input.stripeCustomerId,
            payment_method: input.stripePaymentMethodId,
            off_session: true,
            confirm: true,
            metadata: { paymentId: input.paymentId, retryJobId: input.retryJobId },
          },
          { idempotencyKey: input.idempotencyKey },
        ),
      ),
    );
  }

  async retrieveCheckoutSession(id: string): Promise<GatewayCheckoutSession> {
    return this.call(async () => mapCheckoutSession(await this.stripe.checkout.sessions.retrieve(id)));
  }

  async retrievePaymentIntent(id: string): Promise<GatewayPaymentIntent> {
    return this.call(async () => mapPaymentIntent(await this.stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] })));
  }

  async retrieveCharge(id: string): Promise<GatewayCharge> {
    return this.call(async () => mapCharge(await this.stripe.charges.retrieve(id)));
  }

  async intentOfObject(id: string): Promise<{ paymentIntentId: string | null; paymentId: string | null } | null> {
    const owner = (object: { payment_intent?: string | { id: string } | null; metadata?: Stripe.Metadata | null }) => ({
      paymentIntentId: typeof object.payment_intent === 'string' ? object.payment_intent : (object.payment_intent?.id ?? null),
      paymentId: object.metadata?.paymentId ?? null,
    });
    if (/^(ch|py)_/.test(id)) return this.call(async () => owner(await this.stripe.charges.retrieve(id)));
    if (/^(re|pyr)_/.test(id)) return this.call(async () => owner(await this.stripe.refunds.retrieve(id)));
    if (/^(dp|du)_/.test(id)) return this.call(async () => owner(await this.stripe.disputes.retrieve(id)));
    return null;
  }

  /** An intent Stripe says is already captured is answered as it is: the capture is done. */
  async capturePaymentIntent(id: string, idempotencyKey: string): Promise<GatewayPaymentIntent> {
    try {
      return mapPaymentIntent(await this.stripe.paymentIntents.capture(id, { expand: ['latest_charge'] }, { idempotencyKey }));
    } catch (error) {
      const current = intentInError(error);
      if (current?.status === 'succeeded') return this.retrievePaymentIntent(id);
      throw toGatewayError(error);
    }
  }

  /** An intent that is already canceled is answered as it is; any other refusal is an error. */
  async cancelPaymentIntent(id: string, idempotencyKey: string): Promise<GatewayPaymentIntent> {
    try {
      return mapPaymentIntent(await this.stripe.paymentIntents.cancel(id, { expand: ['latest_charge'] }, { idempotencyKey }));
    } catch (error) {
      const current = intentInError(error);
      if (current?.status === 'canceled') return this.retrievePaymentIntent(id);
      throw toGatewayError(error);
    }
  }

  async listPaymentIntents(query: GatewayListQuery): Promise<GatewayPage<GatewayPaymentIntent>> {
    return this.call(async () => {
      // The expanded charge carries capture_before, refunds and disputes: no retrieve per intent.
      const page = await this.stripe.paymentIntents.list({ ...listParams(query), expand: ['data.latest_charge'] });
      return { data: page.data.map(mapPaymentIntent), hasMore: page.has_more };
    });
  }

  async listPayouts(query: GatewayListQuery): Promise<GatewayPage<GatewayPayout>> {
    return this.call(async () => {
      const page = await this.stripe.payouts.list(listParams(query));
      return { data: page.data.map(mapPayout), hasMore: page.has_more };
    });
  }

  async listUndeliveredEvents(query: GatewayListQuery & { types: readonly string[] }): Promise<GatewayPage<GatewayStoredEvent>> {
    return this.call(async () => {
      const page = await this.stripe.events.list({ ...listParams(query), delivery_success: false, types: [...query.types] });
      return { data: page.data.map(mapStoredEvent), hasMore: page.has_more };
    });
  }

  async ping(): Promise<boolean> {
    try {
      await this.stripe.paymentIntents.list({ limit: 1 });
      return true;
    } catch {
      return false;
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toGatewayError(error);
    }
  }
}
