export interface DeadlineSettings {
  stuckMarginHours: number;
  authorizationValidityDays: number;
  noShowAfterHours: number;
}

export interface AuthorizationFacts {
  authorizedAt: Date;
  /** Stripe's capture_before; null when Stripe did not say. */
  captureBefore: Date | null;
  /** The customer got what was paid for (delivered, or joined, per CAPTURE_ON). */
  fulfilled: boolean;
  now: Date;
}

export type AuthorizationVerdict = 'ok' | 'stuck' | 'no_show';

const HOUR = 3_600_000;

/**
 * What to do with an authorization we and Stripe agree is held. An unfulfilled one past the
 * no-show deadline is released; otherwise one within the margin of its expiry is stuck and needs
 * an operator (capture it now or release it). The two are exclusive, so a payment is one finding.
 */
export function authorizationVerdict(facts: AuthorizationFacts, settings: DeadlineSettings): { verdict: AuthorizationVerdict; expiresAt: Date; noShowAt: Date } {
  const expiresAt = facts.captureBefore ?? new Date(facts.authorizedAt.getTime() + settings.authorizationValidityDays * 24 * HOUR);
  const noShowAt = new Date(facts.authorizedAt.getTime() + settings.noShowAfterHours * HOUR);
  const now = facts.now.getTime();
  if (!facts.fulfilled && now >= noShowAt.getTime()) return { verdict: 'no_show', expiresAt, noShowAt };
  if (now >= expiresAt.getTime() - settings.stuckMarginHours * HOUR) return { verdict: 'stuck', expiresAt, noShowAt };
  return { verdict: 'ok', expiresAt, noShowAt };
}
