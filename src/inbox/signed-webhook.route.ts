import express, { type Request, type Response, type Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import { inSpan } from '../platform/observability/spans';

/** An event whose signature held, as the inbox stores it. */
export interface VerifiedWebhook {
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
}

/**
 * The one rule every signed webhook route follows: the signature is checked on the exact bytes
 * received (so the route parses its own raw body), then the raw event is committed to the inbox,
 * and only then 200; it is applied from there (WebhookIntake). 400: the signature or body does not
 * hold, nothing stored (the sender should not retry); 503: the event could not be stored (the
 * database is down, say), so the sender redelivers. Nothing of the body is logged.
 */
export function signedWebhookRouter(route: {
  path: string;
  gateway: string;
  /** Who sends it, for the log lines: "Stripe", "Cashfree", "the provider". */
  sender: string;
  /** Throws when the signature or body does not hold. */
  verify(body: Buffer, req: Request): VerifiedWebhook;
  intake: WebhookIntake;
  metrics: Metrics;
  logger: Logger;
}): Router {
  const router = express.Router();
  router.post(route.path, express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
    const log = route.logger.child({ requestId: res.locals.requestId, route: `${route.gateway}-webhook` });
    let event: VerifiedWebhook;
    try {
      event = route.verify(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), req);
    } catch (error) {
      route.metrics.webhookEvent(route.gateway, null, 'bad_signature');
      log.warn({ reason: (error as Error).message }, `rejected a ${route.gateway} webhook`);
      res.status(400).json({ error: (error as Error).message });
      return;
    }
    try {
      // Applying the event continues this span's trace (WebhookIntake keeps its context for the wake).
      const result = await inSpan('inbox.store', { 'recoup.gateway': route.gateway, 'recoup.event_id': event.eventId, 'recoup.event_type': event.type }, () =>
        route.intake.receive({ gateway: route.gateway, eventId: event.eventId, type: event.type, payload: event.payload }),
      );
      log.info({ eventId: event.eventId, type: event.type, status: result.status }, `${route.gateway} event`);
      res.status(200).json({ received: true, status: result.status });
    } catch (error) {
      log.error({ err: error, eventId: event.eventId, type: event.type }, `${route.gateway} event not stored; ${route.sender} will redeliver`);
      res.status(503).json({ error: 'Event not stored; please retry' });
    }
  });
  return router;
}
