import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { verificationFact } from './verification-facts';
import {
  VerificationProviderError,
  WebhookSignatureError,
  type VerificationFact,
  type VerificationProvider,
  type VerificationRequest,
  type VerificationSession,
  type VerifiedVerificationEvent,
} from './verification-provider';

export const SIGNATURE_HEADER = 'x-verification-signature';

/** Hex HMAC-SHA256 of the exact bytes, as the sandbox provider signs its webhooks. */
export const signVerificationBody = (body: Buffer | string, secret: string): string => createHmac('sha256', secret).update(body).digest('hex');

/** Constant time on digests, so neither the content nor the length of the expected signature leaks. */
function sameSignature(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given.trim().toLowerCase()), digest(expected));
}

export interface SandboxProviderSettings {
  /** The provider's API; undefined: not running (start answers "unavailable"). */
  apiUrl: string | undefined;
  /** VERIFICATION_WEBHOOK_SECRET: the HMAC key of x-verification-signature. */
  webhookSecret: string;
  timeoutMs: number;
}

/**
 * The adapter for the built-in sandbox provider (src/sandbox/verification/): sessions over its
 * JSON API, webhooks signed with HMAC-SHA256 over the raw body in x-verification-signature, bodies
 * read by verificationFact. A real provider gets an adapter of its own behind VerificationProvider.
 */
export class SandboxVerificationProvider implements VerificationProvider {
  readonly name = 'sandbox';
  readonly signatureHeader = SIGNATURE_HEADER;

  constructor(private readonly settings: SandboxProviderSettings) {}

  async start(request: VerificationRequest): Promise<VerificationSession> {
    if (!this.settings.apiUrl) throw new VerificationProviderError('the verification provider is not running', true);
    const steps = [...(request.terms.kycRequired ? ['kyc'] : []), ...(request.terms.version ? ['esign'] : [])];
    let response: Response;
    try {
      response = await fetch(`${this.settings.apiUrl}/v1/verifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `verification:${request.verificationId}` },
        body: JSON.stringify({ reference: request.verificationId, customer: request.customer, terms_version: request.terms.version, steps }),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (error) {
      throw new VerificationProviderError(`the verification provider did not answer: ${(error as Error).name}`, true);
    }
    const body = (await response.json().catch(() => null)) as { id?: unknown; url?: unknown } | null;
    if (!response.ok) throw new VerificationProviderError(`the verification provider answered ${response.status}`, response.status >= 500 || response.status === 429);
    if (typeof body?.id !== 'string' || typeof body.url !== 'string') throw new VerificationProviderError('the verification provider answered without a session id and url', false);
    return { providerRef: body.id, url: body.url };
  }

  verifyWebhook(rawBody: Buffer, signature: string | undefined): VerifiedVerificationEvent {
    if (!signature) throw new WebhookSignatureError(`Missing ${SIGNATURE_HEADER}`);
    if (!sameSignature(signature, signVerificationBody(rawBody, this.settings.webhookSecret))) throw new WebhookSignatureError('Signature does not match the body');
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new WebhookSignatureError('Not a verification event: the body is not JSON');
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new WebhookSignatureError('Not a verification event: not an object');
    const { id, type } = payload as { id?: unknown; type?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) throw new WebhookSignatureError('Not a verification event: id is missing');
    if (typeof type !== 'string' || type.length === 0 || type.length > 200) throw new WebhookSignatureError('Not a verification event: type is missing');
    return { eventId: id, type, payload: payload as Record<string, unknown> };
  }

  fact(payload: Record<string, unknown>): VerificationFact {
    return verificationFact(payload);
  }
}
