import type { Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import { signedWebhookRouter } from './signed-webhook.route';
import type { StripeWebhookVerifier } from '../integrations/stripe/stripe-webhook';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';

/**
 * POST /webhooks/stripe, stored before it is acknowledged (signedWebhookRouter: 400 bad signature,
 * nothing stored; 503 not stored, Stripe redelivers). An event stored but not applicable as sent
 * answers 200 `unapplied`: it failed for good and raised an alert; a redelivery would hold the
 * same bytes.
 */
export function stripeWebhookRouter(deps: { verifier: StripeWebhookVerifier; intake: WebhookIntake; metrics: Metrics; logger: Logger }): Router {
  return signedWebhookRouter({
    path: '/webhooks/stripe',
    gateway: 'stripe',
    sender: 'Stripe',
    verify: (body, req) => {
      const event = deps.verifier.verify(body, req.header('stripe-signature'));
      return { eventId: event.id, type: event.type, payload: event as unknown as Record<string, unknown> };
    },
    intake: deps.intake,
    metrics: deps.metrics,
    logger: deps.logger,
  });
}
