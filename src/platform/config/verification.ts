/** KYC + e-sign before checkout (plans with requiresVerification): the provider and its webhook secret. */
import type { Reader } from './reader';

export interface VerificationConfig {
  /** sandbox: the built-in fake provider (src/sandbox/verification/); off: no provider (only an operator's override verifies). */
  provider: 'sandbox' | 'off';
  /** The provider's API; unset with the sandbox provider: main.ts starts the built-in fake on loopback. */
  apiUrl?: string;
  /** HMAC-SHA256 key of x-verification-signature on POST /webhooks/verification. */
  webhookSecret: string;
  timeoutMs: number;
}

/** Outside production only: the sandbox provider and the tests sign with it unless told otherwise. */
export const SANDBOX_VERIFICATION_SECRET = 'recoup-sandbox-verification-secret';

export function verificationConfig(r: Reader, production: boolean): VerificationConfig {
  const provider = r.oneOf('VERIFICATION_PROVIDER', ['sandbox', 'off'] as const, production ? 'off' : 'sandbox');
  if (production && provider === 'sandbox') r.problems.push('VERIFICATION_PROVIDER=sandbox is the built-in fake provider and verifies no one: not in production');
  const apiUrl = r.url('VERIFICATION_API_URL');
  const webhookSecret = r.required('VERIFICATION_WEBHOOK_SECRET', production && provider !== 'off', SANDBOX_VERIFICATION_SECRET);
  if (webhookSecret.length < 16) r.problems.push('VERIFICATION_WEBHOOK_SECRET must be at least 16 characters');
  return { provider, apiUrl, webhookSecret, timeoutMs: r.int('VERIFICATION_TIMEOUT_MS', 5000, 100, 60_000) };
}
