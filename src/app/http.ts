import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import type { StripeWebhookVerifier } from '../integrations/stripe/stripe-webhook';
import type { WebhookIntake } from '../inbox/webhook-intake.service';
import type { HealthService } from './health.service';
import type { CashfreeWebhookVerifier } from '../integrations/cashfree/cashfree-webhook';
import { cashfreeCheckoutPage, SESSION_ID } from '../integrations/cashfree/checkout-page';
import { cashfreeWebhookRouter } from '../inbox/cashfree-webhook.route';
import type { VerificationProvider } from '../verification/verification-provider';
import { verificationWebhookRouter } from '../inbox/verification-webhook.route';
import { sandboxCheckoutPagesRouter } from '../sandbox/checkout-pages.route';
import { dashboardRouter } from '../platform/http/dashboard.route';
import { webhookRateLimit } from '../platform/http/rate-limit';
import { stripeWebhookRouter } from '../inbox/stripe-webhook.route';
import { telegramWebhookRouter, type TelegramUpdateReceiver } from '../inbox/telegram-webhook.route';

const ROUTE_LABELS = ['/graphql', '/webhooks/stripe', '/webhooks/cashfree', '/webhooks/telegram', '/webhooks/verification', '/healthz', '/readyz', '/metrics'];

/** What the routes outside /graphql use; each route is handed only its own part of it. */
export interface HttpDeps {
  config: Pick<Config, 'trustProxy' | 'rateLimit' | 'telegram' | 'dashboardDir' | 'sandbox' | 'cashfree'>;
  health: HealthService;
  metrics: Metrics;
  logger: Logger;
  verifier: StripeWebhookVerifier;
  intake: WebhookIntake;
  telegramUpdates: TelegramUpdateReceiver;
  /** Null when Cashfree is not configured: its webhook route then answers 404, and there is no checkout page. */
  cashfreeVerifier: CashfreeWebhookVerifier | null;
  /** Null under VERIFICATION_PROVIDER=off: no verification webhook route. */
  verificationProvider: VerificationProvider | null;
}

/** Request ids, access metrics and logs for every route; bodies and headers are never logged. */
function observe({ health, metrics, logger }: Pick<HttpDeps, 'health' | 'metrics' | 'logger'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = req.header('x-request-id')?.slice(0, 100) || randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    const counted = req.path !== '/healthz' && req.path !== '/readyz';
    if (counted) {
      health.activeRequests++;
      res.once('close', () => health.activeRequests--);
    }
    res.on('finish', () => {
      const route = ROUTE_LABELS.find((r) => req.path === r) ?? (req.path.startsWith('/dashboard') ? '/dashboard' : 'other');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (route !== '/metrics' && route !== '/healthz') {
        logger.debug({ requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http');
      }
    });
    next();
  };
}

export function createExpressApp(deps: HttpDeps): Express {
  const { config, health, metrics, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  // Only these hops may set X-Forwarded-For: the source IP decides the webhook rate-limit bucket.
  app.set('trust proxy', config.trustProxy);
  app.use(observe(deps));
  app.use('/webhooks', webhookRateLimit(config.rateLimit));
  // Before any JSON parser: the signature is over the exact bytes.
  app.use(stripeWebhookRouter({ verifier: deps.verifier, intake: deps.intake, metrics, logger }));
  app.use(cashfreeWebhookRouter({ verifier: deps.cashfreeVerifier, intake: deps.intake, metrics, logger }));
  // Without a provider (VERIFICATION_PROVIDER=off) there is no route: such a request is a 404.
  if (deps.verificationProvider) {
    app.use(verificationWebhookRouter({ verifier: deps.verificationProvider, signatureHeader: deps.verificationProvider.signatureHeader, intake: deps.intake, metrics, logger }));
  }
  app.use(telegramWebhookRouter({ secret: config.telegram.webhookSecret, updates: deps.telegramUpdates, metrics, logger }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', async (_req, res) => {
    if (health.draining) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    const ready = await health.readiness();
    res.status(ready.ok ? 200 : 503).json(ready);
  });
  app.use(dashboardRouter(config.dashboardDir));
  // A Cashfree payment's checkoutUrl (unless CASHFREE_CHECKOUT_URL points elsewhere): opens Cashfree's hosted checkout.
  if (deps.cashfreeVerifier) {
    app.get('/checkout/cashfree/:session', (req, res) => {
      const session = String(req.params.session);
      if (!SESSION_ID.test(session)) return void res.status(404).json({ error: 'Not found' });
      res.setHeader('cache-control', 'no-store');
      res.type('html').send(cashfreeCheckoutPage(session, config.cashfree.environment));
    });
  }
  // Where the sandbox's fake Checkout returns the buyer; outside the sandbox the operator's URLs are used.
  if (config.sandbox) app.use(sandboxCheckoutPagesRouter());
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.render());
  });
  return app;
}

/** Last in the chain: unknown routes and unexpected errors answer JSON, never a stack trace. */
export function finishExpressApp(app: Express, logger: Logger): void {
  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error, requestId: res.locals.requestId }, 'unhandled http error');
    res.status(status).json({ error: status === 500 ? 'Internal error' : error.message });
  });
}
