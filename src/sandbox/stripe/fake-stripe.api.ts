import type { Request, Response } from 'express';
import type { FakeStripeEngine } from './fake-stripe.engine';
import { FakeStripeError } from './fake-stripe.errors';
import { faultBody, faultStatus, FaultRegistry, RateLimiter, type Fault } from './fake-stripe.faults';
import { IdempotencyLayer, type IdempotencyCheck } from './fake-stripe.idempotency';
import { newId } from './fake-stripe.objects';
import { asParams, expandPaths, type Params } from './fake-stripe.params';
import { findRoute } from './fake-stripe.routes';
import { expandObject } from './fake-stripe.store';
import type { ApiResult } from './fake-stripe.types';
import type { WebhookSender } from './fake-stripe.webhooks';

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  body: Params;
  at: Date;
}

export interface ApiOptions {
  rateLimitPerSecond?: number;
  /** Post events caused by API calls to the webhook endpoint in the background, as Stripe does. */
  deliverApiEvents?: boolean;
}

const json = (body: unknown): string => JSON.stringify(body, null, 2);
const errorResult = (error: FakeStripeError): ApiResult => ({ status: error.status, body: json(error.envelope()) });

/**
 * The /v1 request pipeline, in Stripe's order: authenticate, rate-limit, idempotency replay,
 * then execute. Faults are injected either before execution (nothing happened) or after it
 * (it happened, the client just does not hear about it).
 */
export class FakeStripeApi {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultRegistry();
  readonly idempotency = new IdempotencyLayer();
  private readonly limiter: RateLimiter;
  private readonly aborter = new AbortController();

  constructor(
    private readonly engine: FakeStripeEngine,
    private readonly webhooks: WebhookSender,
    private readonly options: ApiOptions,
  ) {
    this.limiter = new RateLimiter(options.rateLimitPerSecond);
  }

  async handle(req: Request, res: Response): Promise<void> {
    const method = req.method.toUpperCase();
    const path = req.path;
    const params = asParams(method === 'POST' ? req.body : req.query);
    const idempotencyKey = req.get('idempotency-key') ?? null;
    const requestId = newId('req_', 14);
    this.requests.push({ method, path, idempotencyKey, body: params, at: this.engine.clock.now() });
    res.setHeader('request-id', requestId);
    try {
      await this.pipeline({ method, path, params, idempotencyKey, requestId }, req, res);
    } catch (error) {
      const failure = error instanceof FakeStripeError ? error : FakeStripeError.internal();
      this.send(res, errorResult(failure));
    }
  }

  close(): void {
    this.aborter.abort();
  }

  reset(): void {
    this.requests.length = 0;
    this.faults.clear();
    this.idempotency.clear();
  }

  private async pipeline(call: Call, req: Request, res: Response): Promise<void> {
    if (!req.get('authorization')) throw FakeStripeError.unauthenticated();
    if (!this.limiter.allow()) throw FakeStripeError.rateLimited();
    let check: Extract<IdempotencyCheck, { kind: 'execute' }> | undefined;
    if (call.method === 'POST' && call.idempotencyKey) {
      const found = this.idempotency.check(call.idempotencyKey, call.method, call.path, call.params);
      if (found.kind === 'replay') {
        res.setHeader('idempotent-replayed', 'true');
        res.setHeader('original-request', found.result.requestId);
        return this.send(res, found.result);
      }
      check = found;
    }
    const fault = this.faults.take(call.method, call.path);
    if (fault && !fault.afterExecute) {
      if (fault.delayMs) await this.sleep(fault.delayMs);
      if (answersInstead(fault)) {
        check?.release();
        return this.answerFault(res, fault);
      }
    }
    const { result, saved } = this.execute(call);
    if (saved) check?.save(result, call.requestId);
    else check?.release();
    if (fault?.afterExecute) {
      if (fault.delayMs) await this.sleep(fault.delayMs);
      if (answersInstead(fault)) return this.answerFault(res, fault);
    }
    this.send(res, result);
  }

  private execute(call: Call): { result: ApiResult; saved: boolean } {
    const found = findRoute(call.method, call.path);
    if (!found) return { result: errorResult(FakeStripeError.unknownRoute(call.method, call.path)), saved: false };
    const request = { id: call.requestId, idempotency_key: call.idempotencyKey };
    const { result, events } = this.engine.collect(() => {
      try {
        const body = found.route.handler({ engine: this.engine, params: call.params, id: found.id });
        const expanded = expandObject(body, expandPaths(call.params), this.engine.store);
        return { result: { status: 200, body: json(expanded) }, saved: true };
      } catch (error) {
        if (error instanceof FakeStripeError) return { result: errorResult(error), saved: error.saved };
        return { result: errorResult(FakeStripeError.internal(String(error))), saved: false };
      }
    }, request);
    if (this.options.deliverApiEvents && this.webhooks.configured) void this.webhooks.sendAll(events);
    return result;
  }

  private answerFault(res: Response, fault: Fault): void {
    if (fault.hang) return; // close() destroys the socket of a hanging request
    if (fault.shouldRetry !== undefined) res.setHeader('stripe-should-retry', String(fault.shouldRetry));
    this.send(res, { status: faultStatus(fault), body: json(faultBody(fault)) });
  }

  private send(res: Response, result: ApiResult): void {
    if (res.headersSent || res.destroyed) return;
    res.status(result.status).type('application/json').send(result.body);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.aborter.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.aborter.signal.addEventListener('abort', wake, { once: true });
    });
  }
}

/** A fault with only `delayMs` is latency: the real answer follows the delay. */
function answersInstead(fault: Fault): boolean {
  return Boolean(fault.hang) || fault.status !== undefined || fault.error !== undefined;
}

interface Call {
  method: string;
  path: string;
  params: Params;
  idempotencyKey: string | null;
  requestId: string;
}
