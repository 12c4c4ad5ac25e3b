/** Failed-charge recovery: the retry queue, its card budget, and renewal (dunning) scheduling. */
import type { StripeConfig } from './payments';
import type { Reader } from './reader';

export interface RetriesConfig {
  /** How often the retry queue is processed; each run claims bounded batches. */
  processEvery: string;
  batchSize: number;
  maxBatchesPerRun: number;
  /** Charges in flight at once per instance. */
  concurrency: number;
  /** A claimed job whose worker died is reclaimed after this (its charge is re-sent with the same key). */
  leaseMs: number;
  /** 0..1: the share of each delay that is randomised. */
  jitter: number;
  /** Retries per card across all jobs within the window (card networks' excessive-retry rules). */
  cardBudget: number;
  cardBudgetWindowDays: number;
  renewalsEvery: string;
  renewalBatchSize: number;
  /** The last retry of a renewal is scheduled at least this long before access is cut. */
  lastRetryMarginMs: number;
}

export function retriesConfig(r: Reader): RetriesConfig {
  return {
    processEvery: r.str('RETRY_PROCESS_EVERY', '30 seconds')!,
    batchSize: r.int('RETRY_BATCH_SIZE', 100, 1, 1000),
    maxBatchesPerRun: r.int('RETRY_MAX_BATCHES_PER_RUN', 20, 1, 1000),
    concurrency: r.int('RETRY_CONCURRENCY', 8, 1, 128),
    leaseMs: r.int('RETRY_LEASE_MS', 180_000, 1_000, 3_600_000),
    jitter: r.int('RETRY_JITTER_PERCENT', 10, 0, 50) / 100,
    cardBudget: r.int('RETRY_CARD_BUDGET', 15, 1, 1000),
    cardBudgetWindowDays: r.int('RETRY_CARD_BUDGET_DAYS', 30, 1, 365),
    renewalsEvery: r.str('RENEWALS_EVERY', '5 minutes')!,
    renewalBatchSize: r.int('RENEWAL_BATCH_SIZE', 100, 1, 10_000),
    lastRetryMarginMs: r.int('DUNNING_LAST_RETRY_MARGIN_MINUTES', 60, 0, 10_080) * 60_000,
  };
}

/** A lease shorter than one charge (with the SDK's own retries) would let a second worker re-send a charge still in flight. */
export function checkRetryLease(stripe: StripeConfig, retries: RetriesConfig, problems: string[]): void {
  const callMs = stripe.timeoutMs * (stripe.maxNetworkRetries + 1);
  if (retries.leaseMs <= callMs) {
    problems.push(`RETRY_LEASE_MS must exceed STRIPE_TIMEOUT_MS × (STRIPE_MAX_NETWORK_RETRIES + 1) = ${callMs}`);
  }
}
