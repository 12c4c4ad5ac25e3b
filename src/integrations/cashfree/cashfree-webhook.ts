import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { cashfreeEventId } from './facts';

/** A verified Cashfree webhook: the parsed body, its type and the inbox key derived from it. */
export interface VerifiedCashfreeEvent {
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
}

/** Cashfree's signature: HMAC-SHA256 with the secret key over timestamp + raw body, base64. */
export function signCashfreePayload(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(timestamp).update(rawBody).digest('base64');
}

/**
 * Verifies x-webhook-signature on the exact bytes received, as Cashfree documents (and as the
 * SDK's PGVerifyWebhookSignature does, here in constant time and on bytes rather than a string
 * that may have been re-encoded). Any of the secrets may sign (a rotation).
 *
 * No timestamp tolerance: Cashfree does not say whether a retried delivery is signed anew, and a
 * replayed genuine event is harmless (the inbox key makes it a duplicate).
 */
export class CashfreeWebhookVerifier {
  private readonly secrets: string[];

  constructor(secrets: string | string[]) {
    this.secrets = (Array.isArray(secrets) ? secrets : [secrets]).filter((s) => s.length > 0);
    if (this.secrets.length === 0) throw new Error('CashfreeWebhookVerifier needs at least one secret');
  }

  verify(rawBody: Buffer, signature: string | undefined, timestamp: string | undefined): VerifiedCashfreeEvent {
    if (!signature) throw new Error('Missing x-webhook-signature header');
    if (!timestamp) throw new Error('Missing x-webhook-timestamp header');
    const given = Buffer.from(signature, 'utf8');
    const signed = this.secrets.some((secret) => {
      const expected = Buffer.from(signCashfreePayload(secret, timestamp, rawBody), 'utf8');
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!signed) throw new Error('Cashfree webhook signature does not match');
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new Error('Body is not JSON');
    }
    const event = payload as Record<string, unknown> | null;
    if (!event || typeof event !== 'object' || Array.isArray(event) || typeof event.type !== 'string' || !event.data || typeof event.data !== 'object') {
      throw new Error('Body is not a Cashfree webhook');
    }
    // A type Recoup does not act on still gets a stable key: the digest of its bytes.
    const eventId = cashfreeEventId(event) ?? `${event.type}:${createHash('sha256').update(rawBody).digest('hex').slice(0, 40)}`;
    return { eventId, type: event.type, payload: event };
  }
}
