import express, { type Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import { signedWebhookRouter } from './signed-webhook.route';
import type { CashfreeWebhookVerifier } from '../integrations/cashfree/cashfree-webhook';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';

/**
 * POST /webhooks/cashfree, stored before it is acknowledged as Stripe's (signedWebhookRouter): the
 * signature is x-webhook-signature over x-webhook-timestamp + the raw body, and the inbox key is
 * the id derived from what the event is about. 404 while Cashfree is not configured.
 */
export function cashfreeWebhookRouter(deps: { verifier: CashfreeWebhookVerifier | null; intake: WebhookIntake; metrics: Metrics; logger: Logger }): Router {
  const { verifier } = deps;
  if (!verifier) {
    return express.Router().post('/webhooks/cashfree', (_req, res) => void res.status(404).json({ error: 'Cashfree is not configured' }));
  }
  return signedWebhookRouter({
    path: '/webhooks/cashfree',
    gateway: 'cashfree',
    sender: 'Cashfree',
    verify: (body, req) => verifier.verify(body, req.header('x-webhook-signature'), req.header('x-webhook-timestamp')),
    intake: deps.intake,
    metrics: deps.metrics,
    logger: deps.logger,
  });
}
