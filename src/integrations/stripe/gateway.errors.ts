import { AppError } from '../../platform/shared/errors';

/**
 * A gateway failure in our terms. `retryable` follows stripe-node's own rule (_shouldRetry):
 * honour the stripe-should-retry header, retry connection errors, 409, 429 and 5xx, never a
 * card decline.
 */
export class GatewayError extends AppError {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly gatewayCode: string | null,
    readonly declineCode: string | null,
    readonly statusCode: number | null,
    readonly requestId: string | null,
    /** Stripe's advice_code on a decline: do_not_try_again, try_again_later, confirm_card_data. */
    readonly adviceCode: string | null = null,
    /** The PaymentIntent a card error carries (a declined off-session charge). */
    readonly paymentIntentId: string | null = null,
  ) {
    super('GATEWAY_ERROR', message, { gatewayCode, declineCode, retryable });
  }
}

interface StripeLikeError {
  type?: string;
  message?: string;
  code?: string;
  decline_code?: string;
  advice_code?: string;
  payment_intent?: { id?: string };
  statusCode?: number;
  requestId?: string;
  headers?: Record<string, string>;
}

export function isRetryableStripeError(error: StripeLikeError): boolean {
  const shouldRetry = error.headers?.['stripe-should-retry'];
  if (shouldRetry === 'true') return true;
  if (shouldRetry === 'false') return false;
  if (error.type === 'StripeConnectionError') return true;
  if (error.type === 'StripeCardError') return false;
  const status = error.statusCode ?? 0;
  return status === 409 || status === 429 || status >= 500;
}

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = (error ?? {}) as StripeLikeError;
  return new GatewayError(
    `Stripe: ${e.message ?? 'unknown error'}`,
    isRetryableStripeError(e),
    e.code ?? null,
    e.decline_code ?? null,
    e.statusCode ?? null,
    e.requestId ?? null,
    e.advice_code ?? null,
    e.payment_intent?.id ?? null,
  );
}
