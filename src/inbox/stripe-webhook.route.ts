import express, { type Request, type Response, type Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import type { StripeWebhookVerifier, VerifiedStripeEvent } from '../integrations/stripe/stripe-webhook';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import { inSpan } from '../platform/observability/spans';

/**
 * POST /webhooks/stripe. The signature is checked on the exact bytes received (so this route
 * parses its own raw body), then the raw event is committed to the inbox, and only then 200; it is
 * applied from there (WebhookIntake). 400: bad signature or body, nothing stored (Stripe should not
 * retry); 503: the event could not be stored (the database is down, say): Stripe redelivers.
 * An event stored but not applicable as sent answers 200 `unapplied`: it failed for good and
 * raised an alert; a redelivery would hold the same bytes.
 */
export function stripeWebhookRouter(deps: { verifier: StripeWebhookVerifier; intake: WebhookIntake; metrics: Metrics; logger: Logger }): Router {
  const router = express.Router();
  router.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
    const log = deps.logger.child({ requestId: res.locals.requestId, route: 'stripe-webhook' });
    let event: VerifiedStripeEvent;
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      event = deps.verifier.verify(body, req.header('stripe-signature'));
    } catch (error) {
      deps.metrics.webhookEvent('stripe', null, 'bad_signature');
      log.warn({ reason: (error as Error).message }, 'rejected a Stripe webhook');
      res.status(400).json({ error: (error as Error).message });
      return;
    }
    try {
      const payload = event as unknown as Record<string, unknown>;
      // Applying the event continues this span's trace (WebhookIntake keeps its context for the wake).
      const result = await inSpan('inbox.store', { 'recoup.gateway': 'stripe', 'recoup.event_id': event.id, 'recoup.event_type': event.type }, () =>
        deps.intake.receive({ gateway: 'stripe', eventId: event.id, type: event.type, payload }),
      );
      log.info({ eventId: event.id, type: event.type, status: result.status }, 'stripe event');
      res.status(200).json({ received: true, status: result.status });
    } catch (error) {
      log.error({ err: error, eventId: event.id, type: event.type }, 'stripe event not stored; Stripe will redeliver');
      res.status(503).json({ error: 'Event not stored; please retry' });
    }
  });
  return router;
}
