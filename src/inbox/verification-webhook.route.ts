import express, { type Request, type Response, type Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import { inSpan } from '../platform/observability/spans';

export const VERIFICATION_GATEWAY = 'verification';

/** What the route needs of the verification provider: the signature check over the raw body (it throws when it does not hold). */
export interface VerificationWebhookVerifier {
  verifyWebhook(rawBody: Buffer, signature: string | undefined): { eventId: string; type: string; payload: Record<string, unknown> };
}

/**
 * POST /webhooks/verification: the KYC / e-sign provider's events, as the Stripe route does it.
 * The signature (x-verification-signature, HMAC-SHA256 over the exact bytes) is checked first, so
 * this route parses its own raw body; then the raw event is committed to the inbox (gateway
 * `verification`) and only then 200; it is applied from there. 400: bad signature or not an
 * event, nothing stored (the provider should not retry); 503: not stored, the provider redelivers.
 * Nothing of the body is logged: it holds personal data (PAN fragment, name, signed document).
 */
export function verificationWebhookRouter(deps: { verifier: VerificationWebhookVerifier; signatureHeader: string; intake: WebhookIntake; metrics: Metrics; logger: Logger }): Router {
  const router = express.Router();
  router.post('/webhooks/verification', express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
    const log = deps.logger.child({ requestId: res.locals.requestId, route: 'verification-webhook' });
    let event: { eventId: string; type: string; payload: Record<string, unknown> };
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      event = deps.verifier.verifyWebhook(body, req.header(deps.signatureHeader));
    } catch (error) {
      deps.metrics.webhookEvent(VERIFICATION_GATEWAY, null, 'bad_signature');
      log.warn({ reason: (error as Error).message }, 'rejected a verification webhook');
      res.status(400).json({ error: (error as Error).message });
      return;
    }
    try {
      const result = await inSpan('inbox.store', { 'recoup.gateway': VERIFICATION_GATEWAY, 'recoup.event_id': event.eventId, 'recoup.event_type': event.type }, () =>
        deps.intake.receive({ gateway: VERIFICATION_GATEWAY, eventId: event.eventId, type: event.type, payload: event.payload }),
      );
      log.info({ eventId: event.eventId, type: event.type, status: result.status }, 'verification event');
      res.status(200).json({ received: true, status: result.status });
    } catch (error) {
      log.error({ err: error, eventId: event.eventId, type: event.type }, 'verification event not stored; the provider will redeliver');
      res.status(503).json({ error: 'Event not stored; please retry' });
    }
  });
  return router;
}
