import type { Router } from 'express';
import type { WebhookIntake } from './webhook-intake.service';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';
import { signedWebhookRouter } from './signed-webhook.route';

export const VERIFICATION_GATEWAY = 'verification';

/** What the route needs of the verification provider: the signature check over the raw body (it throws when it does not hold). */
export interface VerificationWebhookVerifier {
  verifyWebhook(rawBody: Buffer, signature: string | undefined): { eventId: string; type: string; payload: Record<string, unknown> };
}

/**
 * POST /webhooks/verification: the KYC / e-sign provider's events, stored before they are
 * acknowledged as Stripe's are (signedWebhookRouter), gateway `verification`; the signature is
 * HMAC-SHA256 over the exact bytes in the provider's header. Nothing of the body is logged: it
 * holds personal data (PAN fragment, name, signed document).
 */
export function verificationWebhookRouter(deps: { verifier: VerificationWebhookVerifier; signatureHeader: string; intake: WebhookIntake; metrics: Metrics; logger: Logger }): Router {
  return signedWebhookRouter({
    path: '/webhooks/verification',
    gateway: VERIFICATION_GATEWAY,
    sender: 'the provider',
    verify: (body, req) => deps.verifier.verifyWebhook(body, req.header(deps.signatureHeader)),
    intake: deps.intake,
    metrics: deps.metrics,
    logger: deps.logger,
  });
}
