import Stripe from 'stripe';
import { GatewayError, isRetryableStripeError, toGatewayError } from '../../src/integrations/stripe/gateway.errors';
import { startFakeStripe, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { StripeGateway } from '../../src/integrations/stripe/stripe.gateway';

/** An error exactly as the SDK builds it from an HTTP error response (RequestSender → generateV1Error). */
function apiError(statusCode: number, raw: { type: Stripe.RawErrorType; code?: string; decline_code?: string; message?: string }, headers: Record<string, string> = {}) {
  return Stripe.errors.generateV1Error({ message: 'stripe says no', ...raw, statusCode, headers: { 'request-id': 'req_123', ...headers }, requestId: 'req_123' });
}

const connectionError = () => new Stripe.errors.StripeConnectionError({ message: 'An error occurred with our connection to Stripe.' });
const cardDecline = (headers: Record<string, string> = {}) =>
  apiError(402, { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' }, headers);

describe('isRetryableStripeError', () => {
  it.each([
    ['a connection error', connectionError(), true],
    ['429 rate limit', apiError(429, { type: 'invalid_request_error', code: 'rate_limit' }), true],
    ['500 api error', apiError(500, { type: 'api_error' }), true],
    ['503 api error', apiError(503, { type: 'api_error' }), true],
    ['409 conflict (concurrent idempotent request)', apiError(409, { type: 'invalid_request_error', code: 'lock_timeout' }), true],
    ['402 card decline', cardDecline(), false],
    ['400 invalid request', apiError(400, { type: 'invalid_request_error', code: 'parameter_missing' }), false],
    ['401 bad key', apiError(401, { type: 'invalid_request_error' }), false],
    ['404 missing object', apiError(404, { type: 'invalid_request_error', code: 'resource_missing' }), false],
  ])('%s → retryable %s', (_label, error, retryable) => {
    expect(isRetryableStripeError(error)).toBe(retryable);
  });

  it('honours stripe-should-retry over the status code, as stripe-node does', () => {
    expect(isRetryableStripeError(apiError(500, { type: 'api_error' }, { 'stripe-should-retry': 'false' }))).toBe(false);
    expect(isRetryableStripeError(apiError(400, { type: 'invalid_request_error' }, { 'stripe-should-retry': 'true' }))).toBe(true);
    expect(isRetryableStripeError(apiError(409, { type: 'invalid_request_error' }, { 'stripe-should-retry': 'false' }))).toBe(false);
  });

  it('a card decline stays final when Stripe also says not to retry', () => {
    expect(isRetryableStripeError(cardDecline({ 'stripe-should-retry': 'false' }))).toBe(false);
  });
});

describe('toGatewayError', () => {
  it('keeps the decline code and request id of a card decline and marks it final', () => {
    const error = toGatewayError(cardDecline());
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({
      code: 'GATEWAY_ERROR',
      retryable: false,
      gatewayCode: 'card_declined',
      declineCode: 'insufficient_funds',
      statusCode: 402,
      requestId: 'req_123',
      message: 'Stripe: Your card has insufficient funds.',
    });
    expect(error.details).toEqual({ gatewayCode: 'card_declined', declineCode: 'insufficient_funds', retryable: false });
  });

  it('maps a connection error to a retryable error without a status', () => {
    expect(toGatewayError(connectionError())).toMatchObject({ retryable: true, statusCode: null, gatewayCode: null });
  });

  it('maps a rate limit to a retryable error carrying its code', () => {
    expect(toGatewayError(apiError(429, { type: 'invalid_request_error', code: 'rate_limit' }))).toMatchObject({ retryable: true, statusCode: 429, gatewayCode: 'rate_limit' });
  });

  it('returns a GatewayError unchanged instead of wrapping it twice', () => {
    const once = toGatewayError(apiError(500, { type: 'api_error' }));
    expect(toGatewayError(once)).toBe(once);
  });

  it('maps something that is not a Stripe error to a final error', () => {
    expect(toGatewayError(new TypeError('x is undefined'))).toMatchObject({ retryable: false, message: 'Stripe: x is undefined' });
    expect(toGatewayError(undefined)).toMatchObject({ retryable: false, message: 'Stripe: unknown error' });
  });
});

describe('StripeGateway errors through the real SDK', () => {
  let fake: FakeStripe;
  const gateway = (port: number) =>
    new StripeGateway(new Stripe('sk_test_errors', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, timeout: 2000 }), 'TEST');

  beforeAll(async () => {
    fake = await startFakeStripe();
  });
  afterAll(async () => fake?.close());
  beforeEach(() => fake.reset());

  it('a 500 from Stripe is a retryable GatewayError with Stripe’s request id', async () => {
    const { paymentIntent } = await fake.createPaymentIntentDirect({ amount: 500, currency: 'usd' }, { sendWebhooks: false });
    fake.failNext({ method: 'GET', path: `/v1/payment_intents/${paymentIntent.id}` }, { status: 500 });
    const error = await gateway(fake.port).retrievePaymentIntent(paymentIntent.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ retryable: true, statusCode: 500, requestId: expect.stringMatching(/^req_/) });
  });

  it('stripe-should-retry: false on a 500 makes it final', async () => {
    fake.failNext({ method: 'GET' }, { status: 500, shouldRetry: false });
    const error = await gateway(fake.port).retrievePaymentIntent('pi_whatever').catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: false, statusCode: 500 });
  });

  it('a missing object (404) is final', async () => {
    const error = await gateway(fake.port).retrievePaymentIntent('pi_does_not_exist').catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: false, statusCode: 404, gatewayCode: 'resource_missing' });
  });

  it('an unreachable Stripe is a retryable connection error', async () => {
    const error = await gateway(9).retrievePaymentIntent('pi_whatever').catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true, statusCode: null });
  });
});
