import express, { type Request, type Response, type Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import type { CashfreeWebhookVerifier, VerifiedCashfreeEvent } from '../integrations/cashfree/cashfree-webhook';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import { inSpan } from '../platform/observability/spans';

/**
 * POST /webhooks/cashfree, as /webhooks/stripe: the signature (x-webhook-signature over
 * x-webhook-timestamp + the raw body) is checked on the exact bytes received, the raw event is
 * committed to the inbox (gateway `cashfree`, keyed by the id derived from what it is about), and
 * only then 200; it is applied from there (WebhookIntake). 400: bad signature or body, nothing
 * stored; 503: not stored, Cashfree redelivers; 404 while Cashfree is not configured.
 */
export function cashfreeWebhookRouter(deps: { verifier: CashfreeWebhookVerifier | null; intake: WebhookIntake; metrics: Metrics; logger: Logger }): Router {
  const router = express.Router();
  router.post('/webhooks/cashfree', express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
    const log = deps.logger.child({ requestId: res.locals.requestId, route: 'cashfree-webhook' });
    if (!deps.verifier) {
      res.status(404).json({ error: 'Cashfree is not configured' });
      return;
    }
    let event: VerifiedCashfreeEvent;
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      event = deps.verifier.verify(body, req.header('x-webhook-signature'), req.header('x-webhook-timestamp'));
    } catch (error) {
      deps.metrics.webhookEvent('cashfree', null, 'bad_signature');
      log.warn({ reason: (error as Error).message }, 'rejected a Cashfree webhook');
      res.status(400).json({ error: (error as Error).message });
      return;
    }
    try {
      const result = await inSpan('inbox.store', { 'recoup.gateway': 'cashfree', 'recoup.event_id': event.eventId, 'recoup.event_type': event.type }, () =>
        deps.intake.receive({ gateway: 'cashfree', eventId: event.eventId, type: event.type, payload: event.payload }),
      );
      log.info({ eventId: event.eventId, type: event.type, status: result.status }, 'cashfree event');
      res.status(200).json({ received: true, status: result.status });
    } catch (error) {
      log.error({ err: error, eventId: event.eventId, type: event.type }, 'cashfree event not stored; Cashfree will redeliver');
      res.status(503).json({ error: 'Event not stored; please retry' });
    }
  });
  return router;
}
