/** Watching Stripe for drift: nightly reconciliation and the outbound alert webhook. */
import type { Reader } from './reader';

export interface ReconciliationConfig {
  cron: string;
  windowDays: number;
  /** Parallel list ranges; each range pages on its own. */
  concurrency: number;
  /** Our own ceiling on Stripe requests per second (Stripe's is 100 live, 25 in test mode). */
  maxRequestsPerSecond: number;
  /** Retries of one list page after a 429 or 5xx, with backoff. */
  maxRetries: number;
  /** Objects that changed this recently may have a webhook on the way: not judged yet. */
  graceMinutes: number;
  /** STUCK_AUTHORIZATION this long before Stripe's capture_before. */
  stuckMarginHours: number;
  /** When Stripe gives no capture_before: authorization validity after authorizedAt. */
  authorizationValidityDays: number;
  /** An authorization whose access is still unfulfilled this long after authorizedAt is released. */
  noShowAfterHours: number;
}

export interface AlertWebhookConfig {
  url?: string;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  timeoutMs: number;
  sweepEvery: string;
}

export function reconciliationConfig(r: Reader): ReconciliationConfig {
  const settings = {
    cron: r.str('RECONCILIATION_CRON', '0 2 * * *')!,
    windowDays: r.int('RECONCILIATION_WINDOW_DAYS', 30, 1, 90),
    concurrency: r.int('RECONCILIATION_CONCURRENCY', 4, 1, 32),
    maxRequestsPerSecond: r.int('RECONCILIATION_MAX_RPS', 20, 1, 100),
    maxRetries: r.int('RECONCILIATION_MAX_RETRIES', 6, 0, 20),
    graceMinutes: r.int('RECONCILIATION_GRACE_MINUTES', 15, 0, 1440),
    stuckMarginHours: r.int('STUCK_AUTHORIZATION_MARGIN_HOURS', 24, 1, 168),
    authorizationValidityDays: r.int('AUTHORIZATION_VALIDITY_DAYS', 7, 1, 31),
    noShowAfterHours: r.int('NO_SHOW_RELEASE_AFTER_HOURS', 72, 1, 24 * 31),
  };
  if (settings.noShowAfterHours >= settings.authorizationValidityDays * 24) {
    r.problems.push('NO_SHOW_RELEASE_AFTER_HOURS must be shorter than AUTHORIZATION_VALIDITY_DAYS, or authorizations expire before they are released');
  }
  return settings;
}

export function alertWebhookConfig(r: Reader): AlertWebhookConfig {
  return {
    url: r.url('ALERT_WEBHOOK_URL'),
    maxAttempts: r.int('ALERT_WEBHOOK_MAX_ATTEMPTS', 6, 1, 20),
    backoffBaseMs: r.int('ALERT_WEBHOOK_BACKOFF_BASE_MS', 2_000, 10, 600_000),
    backoffCapMs: r.int('ALERT_WEBHOOK_BACKOFF_CAP_MS', 300_000, 10, 3_600_000),
    timeoutMs: r.int('ALERT_WEBHOOK_TIMEOUT_MS', 5_000, 100, 60_000),
    sweepEvery: r.str('ALERT_WEBHOOK_SWEEP_EVERY', '30 seconds')!,
  };
}
