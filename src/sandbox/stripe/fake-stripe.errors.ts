import type { StripeObject } from './fake-stripe.types';

export type StripeErrorType =
  | 'api_error'
  | 'card_error'
  | 'idempotency_error'
  | 'invalid_request_error'
  | 'authentication_error';

export interface StripeErrorBody {
  type: StripeErrorType | string;
  code?: string;
  decline_code?: string;
  advice_code?: string;
  message?: string;
  param?: string;
  charge?: string;
  payment_intent?: StripeObject;
  doc_url?: string;
}

/**
 * A failure answered with Stripe's error envelope. `saved` follows Stripe's idempotency rule:
 * a result is stored for replay only once the endpoint began executing, so validation errors
 * (bad params, unknown ids) are not saved and a corrected retry with the same key runs.
 * https://docs.stripe.com/api/idempotent_requests
 */
export class FakeStripeError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly saved = true,
  ) {
    super(body.message ?? body.type);
    this.name = 'FakeStripeError';
  }

  envelope(): { error: StripeErrorBody } {
    const docUrl = this.body.code ? `https://stripe.com/docs/error-codes/${this.body.code.replace(/_/g, '-')}` : undefined;
    return { error: { ...this.body, doc_url: this.body.doc_url ?? docUrl } };
  }

  static missingParam(param: string): FakeStripeError {
    const message = `Missing required param: ${param}.`;
    return new FakeStripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param, message }, false);
  }

  static invalidParam(param: string, message: string, code = 'parameter_invalid'): FakeStripeError {
    return new FakeStripeError(400, { type: 'invalid_request_error', code, param, message }, false);
  }

  static invalidInteger(param: string, value: unknown): FakeStripeError {
    return FakeStripeError.invalidParam(param, `Invalid integer: ${String(value)}`, 'parameter_invalid_integer');
  }

  static resourceMissing(objectName: string, id: string, param = 'id'): FakeStripeError {
    const message = `No such ${objectName}: '${id}'`;
    return new FakeStripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param, message }, false);
  }

  static invalidRequest(message: string, code?: string, param?: string): FakeStripeError {
    return new FakeStripeError(400, { type: 'invalid_request_error', code, param, message });
  }

  static unexpectedPaymentIntentState(message: string, paymentIntent: StripeObject): FakeStripeError {
    return new FakeStripeError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message,
      payment_intent: paymentIntent,
    });
  }

  static unknownRoute(method: string, path: string): FakeStripeError {
    const message = `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`;
    return new FakeStripeError(404, { type: 'invalid_request_error', message }, false);
  }

  static unauthenticated(): FakeStripeError {
    const message = 'You did not provide an API key. You need to provide your API key in the Authorization header.';
    return new FakeStripeError(401, { type: 'invalid_request_error', message }, false);
  }

  static rateLimited(): FakeStripeError {
    const message = 'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.';
    return new FakeStripeError(429, { type: 'invalid_request_error', code: 'rate_limit', message }, false);
  }

  static idempotencyMismatch(key: string, what: 'parameters' | 'endpoint'): FakeStripeError {
    const message =
      what === 'parameters'
        ? `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`
        : `Keys for idempotent requests can only be used for the same endpoint they were first used for. Try using a key other than '${key}' if you meant to execute a different request.`;
    return new FakeStripeError(400, { type: 'idempotency_error', message }, false);
  }

  static idempotencyInUse(key: string): FakeStripeError {
    const message = `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`;
    return new FakeStripeError(409, { type: 'idempotency_error', code: 'idempotency_key_in_use', message }, false);
  }

  static internal(message = 'An unknown error occurred'): FakeStripeError {
    return new FakeStripeError(500, { type: 'api_error', message }, false);
  }
}

/** Stripe's wording for the decline codes tests use most; anything else gets the generic text. */
const DECLINE_MESSAGES: Record<string, string> = {
  insufficient_funds: 'Your card has insufficient funds.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: "Your card's security code is incorrect.",
  processing_error: 'An error occurred while processing your card. Try again in a little bit.',
  authentication_required: 'Your card was declined. This transaction requires authentication.',
  lost_card: 'Your card was declined.',
  stolen_card: 'Your card was declined.',
  generic_decline: 'Your card was declined.',
};

export function declineMessage(code: string, declineCode?: string): string {
  return DECLINE_MESSAGES[declineCode ?? code] ?? DECLINE_MESSAGES[code] ?? 'Your card was declined.';
}
