import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Clock } from '../../platform/shared/clock';
import { FakeCashfreeEngine, FakeCashfreeError, rupees, type AttemptOutcome, type FakeWebhook } from './fake-cashfree.engine';
import { foreignPayment, listRecon, listSettlements, settle } from './fake-cashfree.recon';

export type * from './fake-cashfree.engine';

export interface FakeCashfreeOptions {
  port?: number;
  host?: string;
  appId?: string;
  secretKey?: string;
  webhookUrl?: string;
  clock?: Clock;
}

export interface RecordedCashfreeRequest {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string | undefined>;
}

export interface CashfreeDelivery {
  type: string;
  status: number;
  ok: boolean;
}

interface Fault {
  method: string;
  path: RegExp;
  status: number;
  body: Record<string, unknown>;
  /** Apply the request first, then fail the answer (a lost response). */
  afterApplying: boolean;
}

export const DEFAULT_CASHFREE_APP_ID = 'TEST_recoup_fake_app';
export const DEFAULT_CASHFREE_SECRET = 'cfsk_ma_test_recoup_fake_secret';

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/**
 * A Cashfree look-alike on loopback for integration tests and sandbox mode, driven by the real
 * cashfree-pg SDK over HTTP (CASHFREE_API_URL=<url>/pg): orders, a hosted pay page (pay, fail or
 * drop), refunds idempotent by refund_id, and webhooks signed as Cashfree signs them.
 */
export class FakeCashfree {
  readonly engine: FakeCashfreeEngine;
  readonly appId: string;
  readonly secretKey: string;
  readonly requests: RecordedCashfreeRequest[] = [];
  readonly deliveries: CashfreeDelivery[] = [];
  private readonly faults: Fault[] = [];
  private readonly delays: Array<{ method: string; path: RegExp; ms: number }> = [];
  private webhookUrl: string | undefined;
  private settled: (() => Promise<void>) | undefined;
  private server: Server | undefined;
  url = '';

  constructor(options: FakeCashfreeOptions = {}) {
    this.engine = new FakeCashfreeEngine(options.clock);
    this.appId = options.appId ?? DEFAULT_CASHFREE_APP_ID;
    this.secretKey = options.secretKey ?? DEFAULT_CASHFREE_SECRET;
    this.webhookUrl = options.webhookUrl;
  }

  /** The API base the SDK is pointed at (its paths start /orders). */
  get apiUrl(): string {
    return `${this.url}/pg`;
  }

  /** Where a payment session's hosted page is: the session id is appended. */
  get checkoutUrl(): string {
    return `${this.url}/pay/`;
  }

  setWebhookUrl(url: string | undefined, options: { settled?: () => Promise<void> } = {}): void {
    this.webhookUrl = url;
    this.settled = options.settled;
  }

  /** The next matching request answers `status` (after doing its work when `afterApplying`: its answer is lost). */
  failNext(match: { method: string; path: RegExp }, fault: { status: number; message?: string; afterApplying?: boolean }): void {
    this.faults.push({ method: match.method.toUpperCase(), path: match.path, status: fault.status, body: { message: fault.message ?? 'fake failure', code: 'fake_fault', type: 'api_error' }, afterApplying: fault.afterApplying ?? false });
  }

  /** The next matching request waits `ms` before it is done and answered (latency, e.g. a slow refund). */
  delayNext(match: { method: string; path: RegExp }, ms: number): void {
    this.delays.push({ method: match.method.toUpperCase(), path: match.path, ms });
  }

  countRequests(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method.toUpperCase() && path.test(r.path)).length;
  }

  /** A payment attempt on the order's hosted page, and its webhook sent (awaited, with its effect). */
  async pay(orderIdOrSession: string, outcome: AttemptOutcome = 'success', options: { sendWebhook?: boolean } = {}) {
    const order = this.engine.orders.get(orderIdOrSession) ?? this.engine.bySession(orderIdOrSession);
    if (!order) throw new Error(`no order or session ${orderIdOrSession}`);
    const { attempt, webhook } = this.engine.attempt(order.orderId, outcome);
    const delivery = options.sendWebhook === false ? null : await this.send(webhook);
    return { attempt, webhook, delivery };
  }

  async settleRefund(refundId: string, status: 'SUCCESS' | 'CANCELLED', options: { sendWebhook?: boolean } = {}) {
    const { refund, webhook } = this.engine.settleRefund(refundId, status);
    const delivery = options.sendWebhook === false ? null : await this.send(webhook);
    return { refund, webhook, delivery };
  }

  /** Test controls: a settlement of the paid orders (FAILED: the bank returned it); a payment on an order not Recoup's. */
  settle(options: Parameters<typeof settle>[1] = {}) {
    return settle(this.engine, options);
  }

  foreignPayment(amountMinor: number, orderId?: string) {
    return foreignPayment(this.engine, amountMinor, orderId);
  }

  sign(rawBody: string, timestamp: string): string {
    return createHmac('sha256', this.secretKey).update(timestamp + rawBody).digest('base64');
  }

  /** Posts a webhook, signed (or with the given signature); answers the delivery. */
  async send(webhook: FakeWebhook | Record<string, unknown>, options: { signature?: string; timestamp?: string } = {}): Promise<CashfreeDelivery> {
    const body = 'body' in webhook && 'type' in webhook && typeof webhook.body === 'object' ? (webhook as FakeWebhook).body : (webhook as Record<string, unknown>);
    const type = String(body.type ?? 'unknown');
    if (!this.webhookUrl) return { type, status: 0, ok: false };
    const raw = JSON.stringify(body);
    const timestamp = options.timestamp ?? String(Date.now());
    let delivery: CashfreeDelivery;
    try {
      const response = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-signature': options.signature ?? this.sign(raw, timestamp), 'x-webhook-timestamp': timestamp, 'x-webhook-version': '2025-01-01', 'x-webhook-attempt': '1' },
        body: raw,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.ok) await this.settled?.();
      delivery = { type, status: response.status, ok: response.ok };
    } catch {
      delivery = { type, status: 0, ok: false };
    }
    this.deliveries.push(delivery);
    return delivery;
  }

  reset(): void {
    this.engine.reset();
    this.requests.length = 0;
    this.deliveries.length = 0;
    this.faults.length = 0;
    this.delays.length = 0;
  }

  async listen(port: number, host: string): Promise<void> {
    const app = this.app();
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve()));
    });
    const address = this.server!.address() as AddressInfo;
    this.url = `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(express.json({ limit: '1mb' }));
    app.use(express.urlencoded({ extended: false }));
    app.get('/pay/:session', (req, res) => this.payPage(req, res));
    app.post('/pay/:session', (req, res) => void this.submitPayPage(req, res));
    const api = express.Router();
    api.use((req, res, next) => this.guard(req, res, next));
    api.post('/orders', (req, res) => this.answer(req, res, () => this.engine.orderEntity(this.engine.createOrder(req.body ?? {}))));
    api.get('/orders/:id', (req, res) => this.answer(req, res, () => this.engine.orderEntity(this.engine.order(String(req.params.id)))));
    api.patch('/orders/:id', (req, res) =>
      this.answer(req, res, () => {
        if ((req.body ?? {}).order_status !== 'TERMINATED') throw new FakeCashfreeError(400, 'order_status_invalid', 'order_status must be TERMINATED');
        return this.engine.orderEntity(this.engine.terminate(String(req.params.id)));
      }),
    );
    api.post('/orders/:id/refunds', (req, res) => this.answer(req, res, () => this.engine.refundEntity(this.engine.createRefund(String(req.params.id), req.body ?? {}))));
    api.get('/orders/:id/refunds', (req, res) =>
      this.answer(req, res, () => {
        this.engine.order(String(req.params.id));
        return this.engine.refunds.filter((r) => r.orderId === req.params.id).map((r) => this.engine.refundEntity(r));
      }),
    );
    api.get('/orders/:id/refunds/:refund', (req, res) => this.answer(req, res, () => this.engine.refundEntity(this.engine.refund(String(req.params.id), String(req.params.refund)))));
    api.post('/recon', (req, res) => this.answer(req, res, () => listRecon(this.engine, req.body ?? {})));
    api.post('/settlements', (req, res) => this.answer(req, res, () => listSettlements(this.engine, req.body ?? {})));
    app.use('/pg', api);
    app.use((req, res) => void res.status(404).json({ message: `no route ${req.method} ${req.path}`, code: 'request_invalid', type: 'invalid_request_error' }));
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(400).json({ message: `invalid request body: ${error instanceof Error ? error.message : String(error)}`, code: 'request_invalid', type: 'invalid_request_error' });
    });
    return app;
  }

  /** Records the request and checks the credentials and API version, as Cashfree does. */
  private guard(req: Request, res: Response, next: NextFunction): void {
    this.requests.push({ method: req.method, path: req.path, body: req.body, headers: { 'x-api-version': req.header('x-api-version'), 'x-idempotency-key': req.header('x-idempotency-key'), 'x-request-id': req.header('x-request-id') } });
    if (req.header('x-client-id') !== this.appId || req.header('x-client-secret') !== this.secretKey) {
      res.status(401).json({ message: 'authentication Failed', code: 'request_failed', type: 'authentication_error' });
      return;
    }
    if (!req.header('x-api-version')) {
      res.status(400).json({ message: 'x-api-version header missing', code: 'x-api-version_missing', type: 'invalid_request_error' });
      return;
    }
    const index = this.delays.findIndex((d) => d.method === req.method && d.path.test(req.path));
    if (index < 0) return next();
    const [delay] = this.delays.splice(index, 1);
    setTimeout(next, delay.ms);
  }

  private answer(req: Request, res: Response, work: () => unknown): void {
    const index = this.faults.findIndex((f) => f.method === req.method && f.path.test(req.path));
    const fault = index >= 0 ? this.faults.splice(index, 1)[0] : undefined;
    if (fault && !fault.afterApplying) return void res.status(fault.status).json(fault.body);
    try {
      const result = work();
      if (fault) return void res.status(fault.status).json(fault.body);
      res.status(200).json(result);
    } catch (error) {
      if (error instanceof FakeCashfreeError) return void res.status(error.status).json(error.body());
      throw error;
    }
  }

  private payPage(req: Request, res: Response): void {
    const order = this.engine.bySession(String(req.params.session));
    if (!order) return void res.status(404).type('html').send(page('Not found', '<h1>No such payment session</h1>'));
    if (order.status !== 'ACTIVE') return void res.type('html').send(page('Closed', `<h1>This order is ${escapeHtml(order.status)}</h1>`));
    const action = `/pay/${encodeURIComponent(order.paymentSessionId)}`;
    const button = (outcome: AttemptOutcome, label: string) => `<form method="post" action="${action}"><input type="hidden" name="outcome" value="${outcome}"><button type="submit">${label}</button></form>`;
    res.type('html').send(page('Pay', `<h1>Pay ${escapeHtml(`${rupees(order.amountMinor).toFixed(2)} ${order.currency}`)}</h1>${button('success', 'Pay')}${button('failed', 'Fail the payment')}${button('dropped', 'Leave without paying')}`));
  }

  private async submitPayPage(req: Request, res: Response): Promise<void> {
    const order = this.engine.bySession(String(req.params.session));
    if (!order) return void res.status(404).type('html').send(page('Not found', '<h1>No such payment session</h1>'));
    const outcome = (['success', 'failed', 'dropped'] as const).find((o) => o === req.body?.outcome) ?? 'success';
    if (order.status === 'ACTIVE') await this.pay(order.orderId, outcome);
    const back = typeof order.meta.return_url === 'string' ? order.meta.return_url.replace('{order_id}', encodeURIComponent(order.orderId)) : null;
    if (back && order.status === 'PAID') return void res.redirect(303, back);
    this.payPage(req, res);
  }
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}button{font-size:1.1rem;padding:.6rem 1.4rem;margin:.3rem 0}.note{color:#666;font-size:.9rem}</style></head>
<body>${body}<p class="note">Recoup sandbox: a fake Cashfree checkout. No real money moves.</p></body></html>`;
}

export async function startFakeCashfree(options: FakeCashfreeOptions = {}): Promise<FakeCashfree> {
  const fake = new FakeCashfree(options);
  await fake.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return fake;
}
