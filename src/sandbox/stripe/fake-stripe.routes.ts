import { createCheckoutSession, expireCheckout } from './fake-stripe.checkout';
import type { FakeStripeEngine } from './fake-stripe.engine';
import { paginate } from './fake-stripe.list';
import { createRefund } from './fake-stripe.money';
import { asArray, asParams, metadataOf, optBool, optEnum, optInt, optString, reqInt, reqString, type Params } from './fake-stripe.params';
import {
  cancelPaymentIntent,
  capturePaymentIntent,
  confirmPaymentIntent,
  createPaymentIntent,
  updatePaymentIntent,
} from './fake-stripe.payment-intents';
import type { CaptureMethod, FakeEvent, StripeObject } from './fake-stripe.types';

export interface RouteContext {
  engine: FakeStripeEngine;
  /** Body parameters for POST, query parameters for GET. */
  params: Params;
  id: string;
}

type Handler = (ctx: RouteContext) => unknown;

export interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: Handler;
}

/** "/v1/payment_intents/:id/capture" → a RegExp capturing the id. */
function route(method: Route['method'], path: string, handler: Handler): Route {
  const source = path.replace(/:id/, '([^/]+)');
  return { method, pattern: new RegExp(`^${source}$`), handler };
}

const CAPTURE_METHODS: readonly CaptureMethod[] = ['automatic', 'automatic_async', 'manual'];

const eq = (params: Params, name: string, field: string) => {
  const wanted = optString(params, name);
  return (row: StripeObject): boolean => wanted === undefined || row[field] === wanted;
};

function eventFilter(ctx: RouteContext): (event: FakeEvent) => boolean {
  const type = optString(ctx.params, 'type');
  const types = asArray(ctx.params.types).filter((item): item is string => typeof item === 'string');
  const delivered = optBool(ctx.params, 'delivery_success');
  const typeMatches = (eventType: string, pattern: string): boolean =>
    pattern.endsWith('*') ? eventType.startsWith(pattern.slice(0, -1)) : eventType === pattern;
  return (event) =>
    (type === undefined || typeMatches(event.type, type)) &&
    (types.length === 0 || types.some((pattern) => typeMatches(event.type, pattern))) &&
    (delivered === undefined || (ctx.engine.store.deliverySuccess.get(event.id) ?? false) === delivered);
}

export const ROUTES: Route[] = [
  route('POST', '/v1/checkout/sessions', ({ engine, params }) => createCheckoutSession(engine, params)),
  route('GET', '/v1/checkout/sessions', ({ engine, params }) => {
    const status = eq(params, 'status', 'status');
    const intent = eq(params, 'payment_intent', 'payment_intent');
    return paginate(engine.store.sessions.newestFirst(), params, '/v1/checkout/sessions', (row) => status(row) && intent(row));
  }),
  route('GET', '/v1/checkout/sessions/:id', ({ engine, id }) => engine.store.sessions.get(id, 'session')),
  route('POST', '/v1/checkout/sessions/:id/expire', ({ engine, id }) => expireCheckout(engine, id)),

  route('POST', '/v1/payment_intents', ({ engine, params }) =>
    createPaymentIntent(engine, {
      amount: reqInt(params, 'amount'),
      currency: reqString(params, 'currency'),
      captureMethod: optEnum(params, 'capture_method', CAPTURE_METHODS),
      metadata: metadataOf(params),
      customer: optString(params, 'customer') ?? null,
      paymentMethod: optString(params, 'payment_method') ?? null,
      description: optString(params, 'description') ?? null,
      confirm: optBool(params, 'confirm') ?? false,
    }),
  ),
  route('GET', '/v1/payment_intents', ({ engine, params }) =>
    paginate(engine.store.paymentIntents.newestFirst(), params, '/v1/payment_intents', eq(params, 'customer', 'customer')),
  ),
  route('GET', '/v1/payment_intents/:id', ({ engine, id }) => engine.store.paymentIntents.get(id, 'intent')),
  route('POST', '/v1/payment_intents/:id', ({ engine, id, params }) =>
    updatePaymentIntent(engine.store.paymentIntents.get(id, 'intent'), {
      metadata: asParams(params.metadata),
      description: optString(params, 'description'),
    }),
  ),
  route('POST', '/v1/payment_intents/:id/confirm', ({ engine, id, params }) =>
    confirmPaymentIntent(engine, engine.store.paymentIntents.get(id, 'intent'), optString(params, 'payment_method')),
  ),
  route('POST', '/v1/payment_intents/:id/capture', ({ engine, id, params }) =>
    capturePaymentIntent(engine, engine.store.paymentIntents.get(id, 'intent'), optInt(params, 'amount_to_capture')),
  ),
  route('POST', '/v1/payment_intents/:id/cancel', ({ engine, id, params }) =>
    cancelPaymentIntent(engine, engine.store.paymentIntents.get(id, 'intent'), optString(params, 'cancellation_reason')),
  ),

  route('GET', '/v1/charges', ({ engine, params }) =>
    paginate(engine.store.charges.newestFirst(), params, '/v1/charges', eq(params, 'payment_intent', 'payment_intent')),
  ),
  route('GET', '/v1/charges/:id', ({ engine, id }) => engine.store.charges.get(id, 'id')),

  route('POST', '/v1/refunds', ({ engine, params }) =>
    createRefund(engine, {
      charge: optString(params, 'charge'),
      paymentIntent: optString(params, 'payment_intent'),
      amount: optInt(params, 'amount'),
      reason: optString(params, 'reason'),
      metadata: metadataOf(params),
    }),
  ),
  route('GET', '/v1/refunds', ({ engine, params }) => {
    const charge = eq(params, 'charge', 'charge');
    const intent = eq(params, 'payment_intent', 'payment_intent');
    return paginate(engine.store.refunds.newestFirst(), params, '/v1/refunds', (row) => charge(row) && intent(row));
  }),
  route('GET', '/v1/refunds/:id', ({ engine, id }) => engine.store.refunds.get(id, 'refund')),

  route('GET', '/v1/payouts', ({ engine, params }) =>
    paginate(engine.store.payouts.newestFirst(), params, '/v1/payouts', eq(params, 'status', 'status')),
  ),
  route('GET', '/v1/payouts/:id', ({ engine, id }) => engine.store.payouts.get(id, 'payout')),

  route('GET', '/v1/disputes', ({ engine, params }) =>
    paginate(engine.store.disputes.newestFirst(), params, '/v1/disputes', eq(params, 'charge', 'charge')),
  ),
  route('GET', '/v1/disputes/:id', ({ engine, id }) => engine.store.disputes.get(id, 'dispute')),

  route('GET', '/v1/events', (ctx) =>
    paginate(ctx.engine.store.events.newestFirst(), ctx.params, '/v1/events', eventFilter(ctx)),
  ),
  route('GET', '/v1/events/:id', ({ engine, id }) => engine.store.events.get(id, 'id')),
];

export function findRoute(method: string, path: string): { route: Route; id: string } | undefined {
  for (const candidate of ROUTES) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (match) return { route: candidate, id: safeDecode(match[1] ?? '') };
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
