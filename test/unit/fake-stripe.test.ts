import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Stripe from 'stripe';
import { ManualClock } from '../../src/platform/shared/clock';
import { startFakeStripe, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';

const SECRET = 'whsec_unit_test_secret';

function client(fake: FakeStripe, timeout?: number): Stripe {
  return new Stripe('sk_test_x', { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0, timeout });
}

function checkoutParams(overrides: Partial<Stripe.Checkout.SessionCreateParams> = {}): Stripe.Checkout.SessionCreateParams {
  return {
    mode: 'payment',
    line_items: [{ price_data: { currency: 'eur', unit_amount: 1500, product_data: { name: 'Gold, 1 month' } }, quantity: 2 }],
    metadata: { paymentId: 'pay_1' },
    payment_intent_data: { metadata: { paymentId: 'pay_1' } },
    success_url: 'https://recoup.test/ok?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://recoup.test/cancel',
    customer_email: 'ann@example.com',
    client_reference_id: 'pay_1',
    ...overrides,
  };
}

/** A webhook endpoint that verifies every delivery the way Recoup's route must. */
interface Receiver {
  url: string;
  received: Stripe.Event[];
  status: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver = { received: [] as Stripe.Event[], status: 200 } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const signature = String(req.headers['stripe-signature']);
      receiver.received.push(Stripe.webhooks.constructEvent(Buffer.concat(chunks), signature, SECRET));
      res.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
  receiver.close = () => new Promise((done) => server.close(() => done()));
  return receiver;
}

describe('fake Stripe', () => {
  let fake: FakeStripe;
  let stripe: Stripe;

  beforeAll(async () => {
    fake = await startFakeStripe({ webhookSecret: SECRET });
    stripe = client(fake);
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('creates and retrieves a checkout session through the SDK', async () => {
    const created = await stripe.checkout.sessions.create(checkoutParams());
    expect(created.id).toMatch(/^cs_test_/);
    expect(created).toMatchObject({ status: 'open', payment_status: 'unpaid', amount_total: 3000, currency: 'eur', payment_intent: null });
    expect(created.url).toBe(`${fake.url}/pay/${created.id}`);

    const retrieved = await stripe.checkout.sessions.retrieve(created.id);
    expect(retrieved).toEqual(created);
  });

  it('answers Stripe error envelopes for bad input and unknown ids', async () => {
    await expect(stripe.checkout.sessions.create({ mode: 'payment', success_url: 'https://x' })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError', statusCode: 400, code: 'parameter_missing', param: 'line_items',
    });
    await expect(stripe.paymentIntents.retrieve('pi_nope')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    const raw = await fetch(`${fake.url}/v1/nothing-here`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    const bad = await fetch(`${fake.url}/v1/payment_intents`, {
      method: 'POST', headers: { authorization: 'Bearer sk_test_x', 'content-type': 'application/json' }, body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${fake.url}/v1/charges`)).status).toBe(401);
  });

  it('completes a checkout and posts signed events the SDK verifies', async () => {
    const receiver = await startReceiver();
    fake.setWebhookUrl(receiver.url);
    try {
      const session = await stripe.checkout.sessions.create(checkoutParams());
      const done = await fake.completeCheckout(session.id);

      expect(done.events.map((event) => event.type)).toEqual(
        expect.arrayContaining(['checkout.session.completed', 'payment_intent.succeeded']),
      );
      expect(done.deliveries.every((delivery) => delivery.status === 200)).toBe(true);
      const completed = receiver.received.find((event) => event.type === 'checkout.session.completed');
      expect(completed?.data.object).toMatchObject({ id: session.id, status: 'complete', payment_status: 'paid' });

      const intent = await stripe.paymentIntents.retrieve(done.paymentIntent.id, { expand: ['latest_charge'] });
      expect(intent).toMatchObject({ status: 'succeeded', amount_received: 3000, metadata: { paymentId: 'pay_1' } });
      expect((intent.latest_charge as Stripe.Charge).object).toBe('charge');
      const undelivered = await stripe.events.list({ delivery_success: false });
      expect(undelivered.data).toHaveLength(0);
    } finally {
      fake.setWebhookUrl(undefined);
      await receiver.close();
    }
  });

  it('records a failed delivery and lists it as undelivered', async () => {
    const receiver = await startReceiver();
    receiver.status = 500;
    fake.setWebhookUrl(receiver.url);
    try {
      const session = await stripe.checkout.sessions.create(checkoutParams());
      const event = fake.createEvent('checkout.session.completed', { ...session, status: 'complete' });
      expect(await fake.sendEvent(event)).toBe(500);
      const undelivered = await stripe.events.list({ delivery_success: false, type: 'checkout.session.completed' });
      expect(undelivered.data.map((item) => item.id)).toEqual([event.id]);
    } finally {
      fake.setWebhookUrl(undefined);
      await receiver.close();
    }
  });

  it('signs payloads exactly like stripe.webhooks.generateTestHeaderString', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event' });
    const header = fake.signPayload(payload, 1_700_000_000);
    expect(header).toBe(Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: 1_700_000_000 }));
    expect(() => Stripe.webhooks.constructEvent(payload, fake.signPayload(payload), SECRET)).not.toThrow();
  });

  it('replays an idempotent POST without executing it again', async () => {
    const params = { amount: 2000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { paymentId: 'p2' } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'renewal:p2' });
    const again = await stripe.paymentIntents.create(params, { idempotencyKey: 'renewal:p2' });

    expect(again).toEqual(first);
    expect(fake.store.paymentIntents.size).toBe(1);
    expect(fake.store.charges.size).toBe(1);
    expect(fake.countRequests('POST', '/v1/payment_intents')).toBe(2);
    await expect(stripe.paymentIntents.create({ ...params, amount: 2001 }, { idempotencyKey: 'renewal:p2' })).rejects.toMatchObject({
      type: 'StripeIdempotencyError', statusCode: 400,
    });
  });

  it('executes once when the response is lost after execution and the client retries with the same key', async () => {
    fake.failNext({ method: 'POST', path: '/v1/payment_intents' }, { status: 500, afterExecute: true });
    const params = { amount: 900, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    await expect(stripe.paymentIntents.create(params, { idempotencyKey: 'charge:p3' })).rejects.toMatchObject({ statusCode: 500 });
    expect(fake.store.charges.size).toBe(1);

    const retried = await stripe.paymentIntents.create(params, { idempotencyKey: 'charge:p3' });
    expect(retried.status).toBe('succeeded');
    expect(fake.store.paymentIntents.size).toBe(1);
    expect(fake.store.charges.size).toBe(1);
  });

  it('executes nothing when a fault strikes before execution', async () => {
    fake.failNext({ path: /^\/v1\/refunds/ }, { status: 503, error: { type: 'api_error', message: 'down' } });
    const { paymentIntent } = await fake.createPaymentIntentDirect({ amount: 500, currency: 'usd' });
    await expect(stripe.refunds.create({ payment_intent: paymentIntent.id }, { idempotencyKey: 'refund:p4' })).rejects.toMatchObject({
      statusCode: 503,
    });
    expect(fake.store.refunds.size).toBe(0);
    const refund = await stripe.refunds.create({ payment_intent: paymentIntent.id }, { idempotencyKey: 'refund:p4' });
    expect(refund).toMatchObject({ amount: 500, status: 'succeeded', payment_intent: paymentIntent.id });
  });

  it('answers 409 while the first request with the same key is still running', async () => {
    fake.failNext({ method: 'POST', path: '/v1/payment_intents' }, { delayMs: 150 });
    const params = { amount: 700, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    const first = stripe.paymentIntents.create(params, { idempotencyKey: 'slow:p5' });
    await new Promise((done) => setTimeout(done, 30));
    await expect(stripe.paymentIntents.create(params, { idempotencyKey: 'slow:p5' })).rejects.toMatchObject({
      statusCode: 409, code: 'idempotency_key_in_use',
    });
    expect((await first).status).toBe('succeeded');
    expect(fake.store.paymentIntents.size).toBe(1);
  });

  it('delivers events caused by API calls in the background when asked to', async () => {
    const receiver = await startReceiver();
    const eager = await startFakeStripe({ webhookSecret: SECRET, webhookUrl: receiver.url, deliverApiEvents: true });
    try {
      const intent = await client(eager).paymentIntents.create({ amount: 300, currency: 'usd', payment_method: 'pm_x', confirm: true });
      await eager.whenIdle();
      expect(receiver.received.map((event) => event.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
      expect(receiver.received[2]?.data.object).toMatchObject({ id: intent.id, status: 'succeeded' });
      expect(receiver.received[2]?.request?.id).toMatch(/^req_/);
    } finally {
      await eager.close();
      await receiver.close();
    }
  });

  it('pages through 250 objects with autoPagingToArray, newest first', async () => {
    const created: string[] = [];
    for (let i = 0; i < 250; i += 1) {
      created.push((await fake.createPaymentIntentDirect({ amount: 100 + i, currency: 'usd' })).paymentIntent.id);
    }
    const all = await stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    expect(all.map((intent) => intent.id)).toEqual([...created].reverse());
    expect(fake.countRequests('GET', '/v1/payment_intents')).toBe(3);

    const firstPage = await stripe.paymentIntents.list({ limit: 10 });
    expect(firstPage.has_more).toBe(true);
    const back = await stripe.paymentIntents.list({ limit: 5, ending_before: firstPage.data[7]?.id });
    expect(back.data.map((intent) => intent.id)).toEqual(firstPage.data.slice(2, 7).map((intent) => intent.id));
    expect(back.has_more).toBe(true);
  });

  it('filters lists by created on the injected clock', async () => {
    const clock = new ManualClock('2026-01-15T10:00:00Z');
    const timed = await startFakeStripe({ clock });
    try {
      const sdk = client(timed);
      const t0 = Math.floor(clock.now().getTime() / 1000);
      for (let hour = 0; hour < 5; hour += 1) {
        await sdk.checkout.sessions.create(checkoutParams());
        clock.advance(3600_000);
      }
      const window = await sdk.checkout.sessions.list({ created: { gte: t0 + 3600, lt: t0 + 3 * 3600 } });
      expect(window.data.map((session) => session.created)).toEqual([t0 + 7200, t0 + 3600]);
      const exact = await sdk.checkout.sessions.list({ created: t0 });
      expect(exact.data).toHaveLength(1);
      await timed.createPayout({ status: 'failed', amount: 7000, created: t0 - 86400 });
      await timed.createPayout({ status: 'paid', created: t0 });
      const failed = await sdk.payouts.list({ status: 'failed', created: { lte: t0 } });
      expect(failed.data).toEqual([expect.objectContaining({ status: 'failed', failure_code: 'account_closed', amount: 7000 })]);
    } finally {
      await timed.close();
    }
  });

  it('answers 429 rate_limit above the configured rate', async () => {
    const limited = await startFakeStripe({ rateLimitPerSecond: 3 });
    try {
      const sdk = client(limited);
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => sdk.charges.list()));
      const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(rejected.length).toBeGreaterThanOrEqual(3);
      expect(rejected[0]?.reason).toMatchObject({ type: 'StripeRateLimitError', statusCode: 429, code: 'rate_limit' });
    } finally {
      await limited.close();
    }
  });

  it('refuses state changes Stripe refuses', async () => {
    const session = await stripe.checkout.sessions.create(checkoutParams());
    await fake.completeCheckout(session.id);
    await expect(stripe.checkout.sessions.expire(session.id)).rejects.toMatchObject({
      statusCode: 400, type: 'StripeInvalidRequestError', message: expect.stringContaining('complete'),
    });
    const { paymentIntent } = await fake.createPaymentIntentDirect({ amount: 1000, currency: 'usd' });
    await expect(stripe.paymentIntents.capture(paymentIntent.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
    await expect(stripe.paymentIntents.cancel(paymentIntent.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
  });

  it('holds and captures a manual-capture checkout', async () => {
    const session = await stripe.checkout.sessions.create(checkoutParams());
    const { paymentIntent, events } = await fake.completeCheckout(session.id, { captureMethod: 'manual' });
    expect(paymentIntent.status).toBe('requires_capture');
    expect(events.map((event) => event.type)).toContain('payment_intent.amount_capturable_updated');
    const captured = await stripe.paymentIntents.capture(paymentIntent.id, {}, { idempotencyKey: `capture:${paymentIntent.id}` });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 3000 });
  });

  it('declines the next confirmation with a card error', async () => {
    fake.declineNext('card_declined', 'insufficient_funds');
    const attempt = stripe.paymentIntents.create({ amount: 1200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, off_session: true });
    await expect(attempt).rejects.toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' });
    const [intent] = (await stripe.paymentIntents.list()).data;
    expect(intent).toMatchObject({ status: 'requires_payment_method', last_payment_error: { decline_code: 'insufficient_funds' } });
  });

  it('refunds partially, then the rest, then refuses', async () => {
    const { paymentIntent } = await fake.createPaymentIntentDirect({ amount: 1000, currency: 'usd' });
    await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 300 });
    await expect(stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 800 })).rejects.toMatchObject({ statusCode: 400, param: 'amount' });
    const rest = await stripe.refunds.create({ payment_intent: paymentIntent.id });
    expect(rest.amount).toBe(700);
    await expect(stripe.refunds.create({ payment_intent: paymentIntent.id })).rejects.toMatchObject({ code: 'charge_already_refunded' });
    const charge = await stripe.charges.retrieve(paymentIntent.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 1000, refunded: true });
  });

  it('lets a hanging request time out and still closes', async () => {
    const hanging = await startFakeStripe();
    hanging.failNext({ method: 'GET' }, { hang: true });
    await expect(client(hanging, 200).charges.list()).rejects.toMatchObject({ type: 'StripeConnectionError' });
    await hanging.close();
  });

  it('serves a pay page that completes the checkout and redirects', async () => {
    const session = await stripe.checkout.sessions.create(checkoutParams());
    const page = await fetch(session.url as string);
    expect(await page.text()).toContain('<form method="post"');
    const paid = await fetch(session.url as string, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(`https://recoup.test/ok?session=${session.id}`);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('complete');
  });

  it('closes a dispute: won reinstates the funds and clears charge.disputed, lost keeps it; a closed dispute cannot close again', async () => {
    const won = await fake.completeCheckout((await stripe.checkout.sessions.create(checkoutParams())).id);
    const wonCharge = won.paymentIntent.latest_charge as string;
    const first = await fake.disputeCharge(wonCharge);
    const closed = await fake.closeDispute(first.dispute.id, 'won');
    expect(closed.events.map((e) => [e.type, (e.data.object as { status?: string }).status])).toEqual([['charge.dispute.funds_reinstated', 'won'], ['charge.dispute.closed', 'won']]);
    expect(closed.events[1].data.previous_attributes).toEqual({ status: 'needs_response' });
    expect(await stripe.disputes.retrieve(first.dispute.id)).toMatchObject({ status: 'won', charge: wonCharge });
    expect((await stripe.charges.retrieve(wonCharge)).disputed).toBe(false);
    await expect(fake.closeDispute(first.dispute.id, 'lost')).rejects.toThrow('already closed');

    const lost = await fake.completeCheckout((await stripe.checkout.sessions.create(checkoutParams())).id);
    const lostCharge = lost.paymentIntent.latest_charge as string;
    const second = await fake.disputeCharge(lostCharge);
    expect((await fake.closeDispute(second.dispute.id, 'lost')).events.map((e) => e.type)).toEqual(['charge.dispute.closed']);
    expect((await stripe.charges.retrieve(lostCharge)).disputed).toBe(true);
  });

  it('fails a refund: status failed with its reason, the charge\'s refunded total back down, refund.updated then refund.failed', async () => {
    const { paymentIntent } = await fake.completeCheckout((await stripe.checkout.sessions.create(checkoutParams())).id);
    const { refund } = await fake.refundCharge(paymentIntent.id, { amount: 1000 });
    const failed = await fake.failRefund(refund.id, 'lost_or_stolen_card');
    expect(failed.events.map((e) => e.type)).toEqual(['refund.updated', 'refund.failed']);
    expect(failed.events[0].data.previous_attributes).toEqual({ status: 'succeeded', failure_reason: null });
    expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ status: 'failed', failure_reason: 'lost_or_stolen_card', amount: 1000 });
    expect(await stripe.charges.retrieve(paymentIntent.latest_charge as string)).toMatchObject({ amount_refunded: 0, refunded: false });
    await expect(fake.failRefund(refund.id)).rejects.toThrow('cannot fail');
    // The money is back on the balance: all of it can be refunded again.
    expect((await stripe.refunds.create({ payment_intent: paymentIntent.id })).amount).toBe(3000);
  });

  it('moves a payout along its lifecycle: payout.updated with the previous status, then payout.<final>; failed even after paid, canceled only while pending', async () => {
    const { payout } = await fake.createPayout({ status: 'pending', amount: 4200 });
    const transit = await fake.movePayout(payout.id, 'in_transit');
    expect(transit.events.map((e) => e.type)).toEqual(['payout.updated']);
    const paid = await fake.movePayout(payout.id, 'paid');
    expect(paid.events.map((e) => e.type)).toEqual(['payout.updated', 'payout.paid']);
    expect(paid.events[0].data.previous_attributes).toMatchObject({ status: 'in_transit' });
    const returned = await fake.movePayout(payout.id, 'failed', { code: 'no_account', message: 'The bank account details on file are probably incorrect.' });
    expect(returned.events.map((e) => e.type)).toEqual(['payout.updated', 'payout.failed']);
    expect(await stripe.payouts.retrieve(payout.id)).toMatchObject({ status: 'failed', failure_code: 'no_account', amount: 4200, failure_balance_transaction: expect.stringMatching(/^txn_/) });
    // The paid event kept its snapshot.
    expect(paid.events[1].data.object).toMatchObject({ status: 'paid' });
    await expect(fake.movePayout(payout.id, 'paid')).rejects.toThrow('cannot become');

    const { payout: waiting } = await fake.createPayout({ status: 'pending' });
    const canceled = await fake.movePayout(waiting.id, 'canceled');
    expect(canceled.events.map((e) => e.type)).toEqual(['payout.updated', 'payout.canceled']);
    await expect(fake.movePayout((await fake.createPayout({ status: 'paid' })).payout.id, 'canceled')).rejects.toThrow('cannot become');
  });

  it('settles a delayed checkout payment: processing at completion, then succeeded or failed', async () => {
    const ok = await stripe.checkout.sessions.create(checkoutParams());
    const completed = await fake.completeCheckout(ok.id, { delayed: true });
    expect(completed.events.map((e) => e.type)).toEqual(['payment_intent.created', 'payment_intent.processing', 'checkout.session.completed']);
    expect(await stripe.checkout.sessions.retrieve(ok.id)).toMatchObject({ status: 'complete', payment_status: 'unpaid' });
    expect((await stripe.paymentIntents.retrieve(completed.paymentIntent.id)).status).toBe('processing');
    const paid = await fake.settleAsyncCheckout(ok.id, 'succeeded');
    expect(paid.events.map((e) => e.type)).toEqual(['charge.succeeded', 'payment_intent.succeeded', 'checkout.session.async_payment_succeeded']);
    expect(await stripe.checkout.sessions.retrieve(ok.id)).toMatchObject({ payment_status: 'paid' });
    await expect(fake.settleAsyncCheckout(ok.id, 'failed')).rejects.toThrow('no payment processing');

    const ko = await stripe.checkout.sessions.create(checkoutParams());
    const pending = await fake.completeCheckout(ko.id, { delayed: true });
    const failed = await fake.settleAsyncCheckout(ko.id, 'failed');
    expect(failed.events.map((e) => e.type)).toEqual(['charge.failed', 'payment_intent.payment_failed', 'checkout.session.async_payment_failed']);
    expect(await stripe.paymentIntents.retrieve(pending.paymentIntent.id)).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'insufficient_funds' } });
    expect(await stripe.checkout.sessions.retrieve(ko.id)).toMatchObject({ payment_status: 'unpaid' });
  });

  it('shapes every object with all the fields of Stripe\'s own examples', async () => {
    const fixtures = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/stripe/fixtures3.json'), 'utf8')) as {
      resources: Record<string, Record<string, unknown>>;
    };
    const session = await stripe.checkout.sessions.create(checkoutParams());
    const { paymentIntent, events } = await fake.completeCheckout(session.id);
    const { refund } = await fake.refundCharge(paymentIntent.id, { amount: 100 });
    const { dispute } = await fake.disputeCharge(paymentIntent.latest_charge as string);
    const { payout } = await fake.createPayout();
    const ours: Record<string, object> = {
      'checkout.session': await stripe.checkout.sessions.retrieve(session.id),
      payment_intent: await stripe.paymentIntents.retrieve(paymentIntent.id),
      charge: await stripe.charges.retrieve(paymentIntent.latest_charge as string),
      refund: await stripe.refunds.retrieve(refund.id),
      payout: await stripe.payouts.retrieve(payout.id),
      dispute: await stripe.disputes.retrieve(dispute.id),
      event: await stripe.events.retrieve(events[0]?.id as string),
    };
    for (const [name, object] of Object.entries(ours)) {
      const missing = Object.keys(fixtures.resources[name] ?? {}).filter((key) => !(key in object));
      expect({ name, missing }).toEqual({ name, missing: [] });
    }
  });
});
