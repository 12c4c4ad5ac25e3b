import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { systemClock, type Clock } from '../../platform/shared/clock';
import { FakeStripeApi, type RecordedRequest } from './fake-stripe.api';
import { completeCheckout, expireCheckout, settleAsyncCheckout, type CompleteCheckoutOptions } from './fake-stripe.checkout';
import { FakeStripeEngine } from './fake-stripe.engine';
import { FakeStripeError } from './fake-stripe.errors';
import type { Fault, FaultMatch } from './fake-stripe.faults';
import { closeDispute, createPayout, createRefund, disputeCharge, failRefund, movePayout, type PayoutInput } from './fake-stripe.money';
import { notFoundPage, payPage, successRedirect } from './fake-stripe.pay-page';
import {
  authorizePaymentIntent,
  cancelPaymentIntent,
  createPaymentIntent,
  declinePaymentIntent,
  forcePaymentIntentStatus,
  latestCharge,
  type PaymentIntentInput,
} from './fake-stripe.payment-intents';
import type { EventDelivery, FakeStripeStore } from './fake-stripe.store';
import type { FakeEvent, FakePaymentIntent, FakePayout, PaymentIntentStatus, StripeObject } from './fake-stripe.types';
import { WebhookSender, type DeliveryResult, type WebhookTarget } from './fake-stripe.webhooks';

export type { Fault, FaultMatch } from './fake-stripe.faults';
export type { RecordedRequest } from './fake-stripe.api';
export type * from './fake-stripe.types';

export interface FakeStripeOptions {
  port?: number;
  host?: string;
  webhookUrl?: string;
  webhookSecret?: string;
  rateLimitPerSecond?: number;
  clock?: Clock;
  /** Also post events caused by API calls (capture, refund, …) in the background; default false. */
  deliverApiEvents?: boolean;
}

export interface HelperOptions {
  /** Post the events to the webhook endpoint (when one is set); default true. */
  sendWebhooks?: boolean;
}

type Produced<T> = T & { events: FakeEvent[]; deliveries: DeliveryResult[] };

export interface DirectPaymentIntentInput extends Omit<PaymentIntentInput, 'confirm'> {
  status?: PaymentIntentStatus;
  created?: number | Date;
}

export const DEFAULT_WEBHOOK_SECRET = 'whsec_fake_recoup_sandbox';

/** A Stripe look-alike on loopback for integration tests and sandbox mode. */
export class FakeStripe {
  readonly engine: FakeStripeEngine;
  readonly webhookSecret: string;
  private readonly webhooks: WebhookSender;
  private readonly api: FakeStripeApi;
  private readonly target: WebhookTarget;
  private server: Server | undefined;
  url = '';
  port = 0;

  constructor(options: FakeStripeOptions = {}) {
    this.engine = new FakeStripeEngine(options.clock ?? systemClock);
    this.webhookSecret = options.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;
    this.target = { url: options.webhookUrl, secret: this.webhookSecret };
    this.engine.hasWebhookEndpoint = Boolean(options.webhookUrl);
    this.webhooks = new WebhookSender(this.target, this.engine.store);
    this.api = new FakeStripeApi(this.engine, this.webhooks, options);
  }

  get store(): FakeStripeStore {
    return this.engine.store;
  }

  get requests(): RecordedRequest[] {
    return this.api.requests;
  }

  get deliveries(): EventDelivery[] {
    return this.engine.store.deliveries;
  }

  countRequests(method?: string, pathPrefix?: string): number {
    return this.api.requests.filter(
      (request) => (!method || request.method === method.toUpperCase()) && (!pathPrefix || request.path.startsWith(pathPrefix)),
    ).length;
  }

  /** The app usually listens after the fake starts, so its webhook URL arrives late. */
  setWebhookUrl(url: string | undefined, options: { settled?: () => Promise<void> } = {}): void {
    this.target.url = url;
    this.target.settled = options.settled;
    this.engine.hasWebhookEndpoint = Boolean(url);
  }

  failNext(match: FaultMatch, fault: Fault): void {
    this.api.faults.add(match, fault);
  }

  clearFaults(): void {
    this.api.faults.clear();
  }

  /** The next PaymentIntent confirmation is declined with this code. */
  declineNext(code: string, declineCode?: string, adviceCode?: string): void {
    this.engine.declines.push({ code, declineCode, adviceCode });
  }

  completeCheckout(sessionId: string, options: CompleteCheckoutOptions & HelperOptions = {}) {
    return this.run(() => completeCheckout(this.engine, sessionId, options), options);
  }

  /** A delayed payment (completeCheckout with `delayed`) succeeds or fails at the bank. */
  settleAsyncCheckout(sessionId: string, outcome: 'succeeded' | 'failed', options: HelperOptions & { code?: string; declineCode?: string } = {}) {
    return this.run(() => settleAsyncCheckout(this.engine, sessionId, outcome, options), options);
  }

  expireCheckout(sessionId: string, options: HelperOptions = {}) {
    return this.run(() => ({ session: expireCheckout(this.engine, sessionId) }), options);
  }

  failPaymentIntent(id: string, decline: { code?: string; declineCode?: string } = {}, options: HelperOptions = {}) {
    return this.run(() => {
      const paymentIntent = this.engine.store.paymentIntents.get(id, 'intent');
      const code = decline.code ?? 'card_declined';
      const error = declinePaymentIntent(this.engine, paymentIntent, { code, declineCode: decline.declineCode });
      return { paymentIntent, error: error.body };
    }, options);
  }

  /** A payment made outside our checkout flow (an orphan, from Recoup's point of view). */
  createPaymentIntentDirect(input: DirectPaymentIntentInput, options: HelperOptions = {}) {
    return this.run(() => ({ paymentIntent: this.directPaymentIntent(input) }), options);
  }

  /** Planted discrepancies: changes the status silently, with no event, as drift would. */
  setPaymentIntentStatus(id: string, status: PaymentIntentStatus): FakePaymentIntent {
    return forcePaymentIntentStatus(this.engine.store.paymentIntents.get(id, 'intent'), status);
  }

  /** Moves an authorization's deadline (charge.payment_method_details.card.capture_before). */
  setCaptureBefore(paymentIntentId: string, at: Date): void {
    const charge = latestCharge(this.engine, this.engine.store.paymentIntents.get(paymentIntentId, 'intent'));
    const details = charge?.payment_method_details as { card: Record<string, unknown> } | undefined;
    if (!details) throw new Error(`${paymentIntentId} has no charge to hold`);
    details.card = { ...details.card, capture_before: Math.floor(at.getTime() / 1000) };
  }

  /** Marks every event recorded so far as delivered, so only later plants are `delivery_success=false`. */
  markEventsDelivered(): void {
    for (const event of this.engine.store.events.newestFirst()) this.engine.store.deliverySuccess.set(event.id, true);
  }

  createPayout(input: PayoutInput = {}, options: HelperOptions = {}) {
    return this.run(() => ({ payout: createPayout(this.engine, input) }), options);
  }

  /** A payout moves on at Stripe: paid, failed (also after paid: the bank returned it), canceled (while pending), in_transit. */
  movePayout(payoutId: string, status: FakePayout['status'], failure: { code?: string; message?: string } = {}, options: HelperOptions = {}) {
    return this.run(() => ({ payout: movePayout(this.engine, payoutId, status, failure) }), options);
  }

  refundCharge(chargeOrPaymentIntentId: string, refund: { amount?: number; reason?: string } = {}, options: HelperOptions = {}) {
    const key = chargeOrPaymentIntentId.startsWith('pi_') ? 'paymentIntent' : 'charge';
    return this.run(() => ({ refund: createRefund(this.engine, { [key]: chargeOrPaymentIntentId, ...refund }) }), options);
  }

  disputeCharge(chargeId: string, dispute: { amount?: number; reason?: string } = {}, options: HelperOptions = {}) {
    return this.run(() => ({ dispute: disputeCharge(this.engine, chargeId, dispute) }), options);
  }

  /** Stripe closes the dispute: won (funds reinstated), lost (the bank keeps them) or an inquiry closed. */
  closeDispute(disputeId: string, outcome: 'won' | 'lost' | 'warning_closed', options: HelperOptions = {}) {
    return this.run(() => ({ dispute: closeDispute(this.engine, disputeId, outcome) }), options);
  }

  /** A refund that did not reach the customer: failed, the money back on the balance. */
  failRefund(refundId: string, failureReason?: string, options: HelperOptions = {}) {
    return this.run(() => ({ refund: failRefund(this.engine, refundId, failureReason) }), options);
  }

  /** Records an event without sending it; `deliverySuccess: false` plants a missed webhook. */
  createEvent(
    type: string,
    object: Record<string, unknown>,
    options: { deliverySuccess?: boolean; created?: number } = {},
  ): FakeEvent {
    const event = this.engine.emit(type, object as StripeObject);
    if (options.created !== undefined) {
      event.created = options.created;
      this.engine.store.events.touch();
    }
    if (options.deliverySuccess !== undefined) {
      this.engine.store.deliverySuccess.set(event.id, options.deliverySuccess);
      event.pending_webhooks = options.deliverySuccess ? 0 : 1;
    }
    return event;
  }

  /**
   * Posts one event, signed; answers the HTTP status the endpoint returned (0: unreachable).
   * Any event-shaped object will do, e.g. one built from the fixtures to test odd payloads.
   */
  async sendEvent(event: FakeEvent | { id: string; [field: string]: unknown }): Promise<number> {
    return (await this.webhooks.send(event as FakeEvent)).status;
  }

  signPayload(payload: string, timestamp?: number): string {
    return this.webhooks.sign(payload, timestamp);
  }

  /** Resolves once background webhook deliveries (deliverApiEvents) have finished. */
  whenIdle(): Promise<void> {
    return this.webhooks.idle();
  }

  reset(): void {
    this.engine.reset();
    this.api.reset();
  }

  async listen(port: number, host: string): Promise<void> {
    const app = this.app();
    await new Promise<void>((resolve, reject) => {
      const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve()));
      this.server = server;
    });
    const address = this.server?.address() as AddressInfo;
    this.port = address.port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
    this.engine.baseUrl = this.url;
  }

  async close(): Promise<void> {
    this.api.close();
    this.webhooks.close();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Hanging and keep-alive connections would hold close() (and jest) open forever.
    server.closeAllConnections();
    await closed;
  }

  private directPaymentIntent(input: DirectPaymentIntentInput): FakePaymentIntent {
    const status = input.status ?? 'succeeded';
    const captureMethod = status === 'requires_capture' ? 'manual' : input.captureMethod;
    const paymentIntent = createPaymentIntent(this.engine, { ...input, captureMethod });
    if (status === 'succeeded' || status === 'requires_capture') authorizePaymentIntent(this.engine, paymentIntent);
    else if (status === 'canceled') cancelPaymentIntent(this.engine, paymentIntent);
    else if (status !== paymentIntent.status) forcePaymentIntentStatus(paymentIntent, status);
    if (input.created !== undefined) {
      const created = input.created instanceof Date ? Math.floor(input.created.getTime() / 1000) : input.created;
      paymentIntent.created = created;
      const charge = paymentIntent.latest_charge ? this.engine.store.charges.find(paymentIntent.latest_charge) : undefined;
      if (charge) charge.created = created;
      this.engine.store.paymentIntents.touch();
      this.engine.store.charges.touch();
    }
    return paymentIntent;
  }

  private async run<T extends object>(operation: () => T, options: HelperOptions): Promise<Produced<T>> {
    const { result, events } = this.engine.collect(operation);
    const send = options.sendWebhooks !== false && this.webhooks.configured;
    const deliveries = send ? await this.webhooks.sendAll(events) : [];
    return { ...result, events, deliveries };
  }

  private app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    // Stripe's GET filters are bracketed (created[gte]=…); Express 5 parses them only when asked.
    app.set('query parser', 'extended');
    app.use(express.urlencoded({ extended: true, limit: '1mb' }));
    app.use(express.json({ limit: '1mb' }));
    app.get('/pay/:id', (req, res) => this.showPayPage(req, res));
    app.post('/pay/:id', (req, res) => this.submitPayPage(req, res));
    app.use((req, res, next) => (req.path.startsWith('/v1/') ? void this.api.handle(req, res) : next()));
    app.use((req, res) => {
      res.status(404).json(FakeStripeError.unknownRoute(req.method, req.path).envelope());
    });
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const status = (error as { status?: number }).status ?? 400;
      const message = `Invalid request body: ${error instanceof Error ? error.message : String(error)}`;
      res.status(status >= 400 && status < 500 ? status : 400).json({ error: { type: 'invalid_request_error', message } });
    });
    return app;
  }

  private showPayPage(req: Request, res: Response): void {
    const session = this.engine.store.sessions.find(String(req.params.id));
    if (!session) res.status(404).type('html').send(notFoundPage());
    else res.type('html').send(payPage(session));
  }

  private async submitPayPage(req: Request, res: Response): Promise<void> {
    const session = this.engine.store.sessions.find(String(req.params.id));
    if (!session) return void res.status(404).type('html').send(notFoundPage());
    if (session.status === 'open') await this.completeCheckout(session.id);
    const target = successRedirect(session);
    if (target && session.status === 'complete') res.redirect(303, target);
    else res.type('html').send(payPage(session));
  }
}

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const fake = new FakeStripe(options);
  await fake.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return fake;
}
