import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';
import type { FakePaymentIntent } from '../../src/sandbox/stripe/fake-stripe.types';
import type { FakeWebhook } from '../../src/sandbox/cashfree/fake-cashfree.server';
import { CHECKOUT_FIELDS, must } from './fixtures';
import type { Harness } from './harness';

/** One webhook as its gateway sends it, opaque to the scenarios: only its driver delivers it. */
export type GatewayWebhook = { gateway: 'STRIPE'; event: FakeEvent } | { gateway: 'CASHFREE'; webhook: FakeWebhook };

/** A refund as the gateway itself records it. */
export interface GatewayRefund {
  amountMinor: number;
  settled: boolean;
}

/**
 * What a money-safety scenario needs from a gateway, each step as that gateway really does it
 * (the fake Stripe or fake Cashfree over HTTP). Webhooks are returned undelivered, so a scenario
 * chooses the order, the repeats and the concurrency; `deliver` posts one, signed, and answers
 * the HTTP status once Recoup has applied it.
 */
export interface GatewayDriver {
  readonly gateway: 'STRIPE' | 'CASHFREE';
  readonly currency: string;
  /** Whether the gateway has an event for a customer who left the page without paying. */
  readonly hasDropEvent: boolean;
  /** A channel, a bundle, a plan on this gateway and a customer, through GraphQL as an admin would. */
  seed(h: Harness, amountMinor: number): Promise<{ customerId: string; planId: string; channelId: string }>;
  /** createPayment through GraphQL (outcome CREATED) as an operator. */
  checkout(h: Harness, customerId: string, planId: string): Promise<{ id: string }>;
  /** The customer pays: the gateway records the payment; its webhooks, in the gateway's order. */
  pay(h: Harness, paymentId: string): Promise<GatewayWebhook[]>;
  /** One attempt declined while the payment is still payable (before any success). */
  failedAttempt(h: Harness, paymentId: string): Promise<GatewayWebhook[]>;
  /** The webhook of an earlier attempt that failed (or was abandoned), sent late: after the success. */
  lateFailure(h: Harness, paymentId: string, kind: 'failed' | 'dropped'): GatewayWebhook[];
  /** A refund made at the gateway itself (its dashboard), processed; its webhooks. */
  refundAtGateway(h: Harness, paymentId: string, amountMinor: number): Promise<GatewayWebhook[]>;
  /** The gateway settles the refunds Recoup asked for: the webhooks it sends about them. */
  settleOurRefunds(h: Harness, paymentId: string): Promise<GatewayWebhook[]>;
  deliver(h: Harness, webhook: GatewayWebhook): Promise<number>;
  /** The gateway's own record of the payment's refunds. */
  refunds(h: Harness, paymentId: string): GatewayRefund[];
  /** Refund requests the gateway has received (retries with the same key included). */
  refundRequests(h: Harness): number;
  /** The next refund request is slow at the gateway (it is made after `ms`). */
  slowNextRefund(h: Harness, ms: number): void;
  /** Money taken at the gateway for no payment of ours (its webhooks already dealt with): the subject an alert about it names. */
  foreignPayment(h: Harness, amountMinor: number): Promise<{ subjectType: string; subjectId: string }>;
}

async function seedOn(h: Harness, gateway: 'STRIPE' | 'CASHFREE', currency: string, amountMinor: number) {
  const channelId = must(await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: `-100${Math.floor(Math.random() * 1e10)}`, title: 'Signals' } })).createChannel.id as string;
  const bundleId = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Pro bundle', channelIds: [channelId] } })).createBundle.id as string;
  const plan = must(await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id gateway } }`, { i: { bundleId, name: 'Pro monthly', amountMinor, currency, durationDays: 30, gateway } })).createPlan;
  if (plan.gateway !== gateway) throw new Error(`plan on ${plan.gateway}, expected ${gateway}`);
  const customerId = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, {
    i: { name: 'Dana Buyer', email: 'dana@example.com', phone: '+919876543210', telegramUserId: '700100200' },
  })).createCustomer.id as string;
  return { customerId, planId: plan.id as string, channelId };
}

async function checkoutThroughApi(h: Harness, customerId: string, planId: string) {
  const result = must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { ${CHECKOUT_FIELDS} } }`, { i: { customerId, planId } }, { token: h.tokens.operator }));
  if (result.createPayment.outcome !== 'CREATED') throw new Error(`expected CREATED, got ${JSON.stringify(result.createPayment)}`);
  return result.createPayment.payment as { id: string; stripeCheckoutSessionId: string | null };
}

const stripeEvents = (events: FakeEvent[]): GatewayWebhook[] => events.map((event) => ({ gateway: 'STRIPE', event }));

/** The PaymentIntent that paid our payment (the checkout's; metadata.paymentId names it). */
function paidIntent(h: Harness, paymentId: string): FakePaymentIntent {
  const intent = h.stripe.store.paymentIntents.newestFirst().find((pi) => pi.metadata.paymentId === paymentId && pi.status === 'succeeded');
  if (!intent) throw new Error(`no succeeded PaymentIntent for payment ${paymentId}`);
  return intent;
}

const refundEventTypes = new Set(['charge.refunded', 'refund.created', 'refund.updated']);

export const stripeDriver: GatewayDriver = {
  gateway: 'STRIPE',
  currency: 'usd',
  // Stripe sends nothing when a customer leaves the hosted page; the session just expires later.
  hasDropEvent: false,
  seed: (h, amountMinor) => seedOn(h, 'STRIPE', 'usd', amountMinor),
  checkout: checkoutThroughApi,
  async pay(h, paymentId) {
    const sessionId = must(await h.gql(`query($id: ID!) { payment(id: $id) { stripeCheckoutSessionId } }`, { id: paymentId })).payment.stripeCheckoutSessionId as string;
    const { events } = await h.stripe.completeCheckout(sessionId, { sendWebhooks: false });
    return stripeEvents(events.filter((e) => e.type !== 'payment_intent.created'));
  },
  async failedAttempt(h, paymentId) {
    const amount = must(await h.gql(`query($id: ID!) { payment(id: $id) { amountMinor } }`, { id: paymentId })).payment.amountMinor as number;
    // Declined on an intent of its own (what Stripe does for a card tried before the one that pays).
    const { paymentIntent } = await h.stripe.createPaymentIntentDirect({ amount, currency: 'usd', metadata: { paymentId }, status: 'requires_payment_method' }, { sendWebhooks: false });
    const { events } = await h.stripe.failPaymentIntent(paymentIntent.id, { code: 'card_declined', declineCode: 'insufficient_funds' }, { sendWebhooks: false });
    return stripeEvents(events);
  },
  lateFailure(h, paymentId, kind) {
    if (kind === 'dropped') throw new Error('Stripe has no event for a customer who left the page');
    // The intent's first confirmation was declined before the card that paid: its event, late.
    const intent = paidIntent(h, paymentId);
    const event = h.stripe.createEvent('payment_intent.payment_failed', {
      ...structuredClone(intent),
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' },
    });
    return stripeEvents([event]);
  },
  async refundAtGateway(h, paymentId, amountMinor) {
    const { events } = await h.stripe.refundCharge(paidIntent(h, paymentId).id, { amount: amountMinor }, { sendWebhooks: false });
    return stripeEvents(events);
  },
  async settleOurRefunds(h, paymentId) {
    // Stripe refunds at once; the events our POST /v1/refunds caused are still to be sent.
    const intent = paidIntent(h, paymentId);
    const events = h.stripe.store.events
      .newestFirst()
      .reverse()
      .filter((e) => refundEventTypes.has(e.type) && !h.stripe.store.deliverySuccess.has(e.id))
      .filter((e) => {
        const object = e.data.object as { id?: string; payment_intent?: string };
        return object.payment_intent === intent.id || object.id === intent.latest_charge;
      });
    return stripeEvents(events);
  },
  async deliver(h, webhook) {
    if (webhook.gateway !== 'STRIPE') throw new Error('not a Stripe webhook');
    return h.stripe.sendEvent(webhook.event);
  },
  refunds(h, paymentId) {
    const intent = paidIntent(h, paymentId);
    return h.stripe.store.refunds
      .newestFirst()
      .filter((r) => r.payment_intent === intent.id)
      .map((r) => ({ amountMinor: r.amount, settled: r.status === 'succeeded' }));
  },
  refundRequests: (h) => h.stripe.countRequests('POST', '/v1/refunds'),
  slowNextRefund: (h, ms) => h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { delayMs: ms }),
  async foreignPayment(h, amountMinor) {
    const { paymentIntent } = await h.stripe.createPaymentIntentDirect({ amount: amountMinor, currency: 'usd', metadata: {}, status: 'succeeded' }, { sendWebhooks: false });
    // Its events reached somebody's endpoint: only the money itself is the finding.
    h.stripe.markEventsDelivered();
    return { subjectType: 'payment_intent', subjectId: paymentIntent.id };
  },
};

const cashfreeOf = (h: Harness) => {
  if (!h.cashfree) throw new Error('the harness runs no fake Cashfree: startHarness({ cashfree: true })');
  return h.cashfree;
};
const cashfreeWebhooks = (webhooks: FakeWebhook[]): GatewayWebhook[] => webhooks.map((webhook) => ({ gateway: 'CASHFREE', webhook }));

export const cashfreeDriver: GatewayDriver = {
  gateway: 'CASHFREE',
  currency: 'inr',
  hasDropEvent: true,
  seed: (h, amountMinor) => seedOn(h, 'CASHFREE', 'inr', amountMinor),
  checkout: checkoutThroughApi,
  async pay(h, paymentId) {
    const { webhook } = await cashfreeOf(h).pay(paymentId, 'success', { sendWebhook: false });
    return cashfreeWebhooks([webhook]);
  },
  async failedAttempt(h, paymentId) {
    const { webhook } = await cashfreeOf(h).pay(paymentId, 'failed', { sendWebhook: false });
    return cashfreeWebhooks([webhook]);
  },
  lateFailure(h, paymentId, kind) {
    // Another attempt on the same order, failed or abandoned, whose webhook Cashfree sends after the success's.
    const engine = cashfreeOf(h).engine;
    const order = engine.orders.get(paymentId)!;
    const at = new Date(Date.now() - 60_000);
    return cashfreeWebhooks([engine.paymentWebhook(order, { cfPaymentId: `9${Math.floor(Math.random() * 1e9)}`, orderId: paymentId, outcome: kind, amountMinor: order.amountMinor, at })]);
  },
  async refundAtGateway(h, paymentId, amountMinor) {
    const engine = cashfreeOf(h).engine;
    const made = engine.createRefund(paymentId, { refund_id: `dashboard_${Math.floor(Math.random() * 1e9)}`, refund_amount: amountMinor / 100 });
    return cashfreeWebhooks([engine.settleRefund(made.refundId, 'SUCCESS').webhook]);
  },
  async settleOurRefunds(h, paymentId) {
    const engine = cashfreeOf(h).engine;
    const pending = engine.refunds.filter((r) => r.orderId === paymentId && r.status === 'PENDING');
    return cashfreeWebhooks(pending.map((r) => engine.settleRefund(r.refundId, 'SUCCESS').webhook));
  },
  async deliver(h, webhook) {
    if (webhook.gateway !== 'CASHFREE') throw new Error('not a Cashfree webhook');
    return (await cashfreeOf(h).send(webhook.webhook)).status;
  },
  refunds(h, paymentId) {
    return cashfreeOf(h)
      .engine.refunds.filter((r) => r.orderId === paymentId)
      .map((r) => ({ amountMinor: r.amountMinor, settled: r.status === 'SUCCESS' }));
  },
  refundRequests: (h) => cashfreeOf(h).countRequests('POST', /\/refunds$/),
  slowNextRefund: (h, ms) => cashfreeOf(h).delayNext({ method: 'POST', path: /\/refunds$/ }, ms),
  async foreignPayment(h, amountMinor) {
    const { cfPaymentId } = cashfreeOf(h).foreignPayment(amountMinor);
    return { subjectType: 'cashfree_payment', subjectId: String(cfPaymentId) };
  },
};

export const GATEWAY_DRIVERS: GatewayDriver[] = [stripeDriver, cashfreeDriver];
