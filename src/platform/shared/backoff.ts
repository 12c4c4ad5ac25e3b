export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** 0..1: the share of the delay that is randomised. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 5 * 60_000, jitter: 0.2 };

/**
 * Delay before attempt `attempt + 1`: base × 2^(attempt-1), capped, with jitter so that many
 * items failing together do not retry together.
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponential = policy.baseMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.capMs, exponential);
  const spread = capped * policy.jitter;
  return Math.round(Math.min(policy.capMs, capped - spread + random() * 2 * spread));
}
