import Stripe from 'stripe';
import type { Config } from '../config';
import { toGatewayError } from './gateway.errors';
import type {
  CreateCheckoutInput,
  GatewayRefund,
  GatewayCheckoutSession,
  GatewayIntentStatus,
  GatewayPaymentIntent,
  PaymentGateway,
} from './payment-gateway';

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

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : value.id;

/** Stripe reports the authorization deadline on the latest charge's card details. */
function captureBeforeOf(pi: Stripe.PaymentIntent): Date | null {
  const charge = pi.latest_charge as Stripe.Charge | string | null;
  const seconds = typeof charge === 'object' && charge ? charge.payment_method_details?.card?.capture_before : undefined;
  return seconds ? new Date(seconds * 1000) : null;
}

export function mapPaymentIntent(pi: Stripe.PaymentIntent): GatewayPaymentIntent {
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
    captureBefore: captureBeforeOf(pi),
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
  };
}

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

  async retrieveCheckoutSession(id: string): Promise<GatewayCheckoutSession> {
    return this.call(async () => mapCheckoutSession(await this.stripe.checkout.sessions.retrieve(id)));
  }

  async retrievePaymentIntent(id: string): Promise<GatewayPaymentIntent> {
    return this.call(async () => mapPaymentIntent(await this.stripe.paymentIntents.retrieve(id)));
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
