import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Services } from './services';
import type { StripeWebhookVerifier } from '../integrations/stripe/stripe-webhook';
import { sandboxCheckoutPagesRouter } from '../sandbox/checkout-pages.route';
import { dashboardRouter } from '../platform/http/dashboard.route';
import { webhookRateLimit } from '../platform/http/rate-limit';
import { stripeWebhookRouter } from '../inbox/stripe-webhook.route';
import { telegramWebhookRouter } from '../inbox/telegram-webhook.route';

const ROUTE_LABELS = ['/graphql', '/webhooks/stripe', '/webhooks/telegram', '/healthz', '/readyz', '/metrics'];

/** Request ids, access metrics and logs for every route; bodies and headers are never logged. */
function observe(services: Services) {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = req.header('x-request-id')?.slice(0, 100) || randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    const counted = req.path !== '/healthz' && req.path !== '/readyz';
    if (counted) {
      services.health.activeRequests++;
      res.once('close', () => services.health.activeRequests--);
    }
    res.on('finish', () => {
      const route = ROUTE_LABELS.find((r) => req.path === r) ?? (req.path.startsWith('/dashboard') ? '/dashboard' : 'other');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      services.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      services.metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (route !== '/metrics' && route !== '/healthz') {
        services.logger.debug({ requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http');
      }
    });
    next();
  };
}

export function createExpressApp(services: Services, verifier: StripeWebhookVerifier): Express {
  const app = express();
  app.disable('x-powered-by');
  // Only these hops may set X-Forwarded-For: the source IP decides the webhook rate-limit bucket.
  app.set('trust proxy', services.config.trustProxy);
  app.use(observe(services));
  app.use('/webhooks', webhookRateLimit(services.config.rateLimit));
  // Before any JSON parser: the signature is over the exact bytes.
  app.use(stripeWebhookRouter({ verifier, intake: services.intake, metrics: services.metrics, logger: services.logger }));
  app.use(telegramWebhookRouter({ secret: services.config.telegram.webhookSecret, updates: services.telegramUpdates, metrics: services.metrics, logger: services.logger }));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', async (_req, res) => {
    if (services.health.draining) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    const ready = await services.health.readiness();
    res.status(ready.ok ? 200 : 503).json(ready);
  });
  app.use(dashboardRouter(services.config.dashboardDir));
  // Where the sandbox's fake Checkout returns the buyer; outside the sandbox the operator's URLs are used.
  if (services.config.sandbox) app.use(sandboxCheckoutPagesRouter());
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', services.metrics.registry.contentType);
    res.send(await services.metrics.render());
  });
  return app;
}

/** Last in the chain: unknown routes and unexpected errors answer JSON, never a stack trace. */
export function finishExpressApp(app: Express, services: Services): void {
  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found' });
  });
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) services.logger.error({ err: error, requestId: res.locals.requestId }, 'unhandled http error');
    res.status(status).json({ error: status === 500 ? 'Internal error' : error.message });
  });
}
