/** What a paid customer gets: invite-link delivery, access expiry and retention, the email fallback. */
import type { Reader } from './reader';

export interface DeliveryConfig {
  linkTtlHours: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** How long a claim lasts; a worker that dies releases its claim when this runs out. */
  leaseMs: number;
  /** A fresh PENDING delivery the periodic sweep leaves to the immediate dispatch. */
  graceMs: number;
  sweepEvery: string;
  concurrency: number;
  telegramTimeoutMs: number;
}

export interface AccessConfig {
  expiryCron: string;
  batchSize: number;
  /** An auto-renewing subscription lapses only this long after its end, leaving room for dunning. */
  renewalGraceMs: number;
  retentionEvery: string;
  failedPaymentRetentionDays: number;
}

export interface EmailConfig {
  /** smtp://user:pass@host:port; unset: no email fallback. */
  smtpUrl?: string;
  from: string;
  fallbackGraceMs: number;
  fallbackEvery: string;
}

export function deliveryConfig(r: Reader): DeliveryConfig {
  return {
    linkTtlHours: r.int('INVITE_LINK_TTL_HOURS', 24, 1, 24),
    maxAttempts: r.int('DELIVERY_MAX_ATTEMPTS', 5, 1, 50),
    backoffBaseMs: r.int('DELIVERY_BACKOFF_BASE_MS', 5_000, 10, 3_600_000),
    backoffCapMs: r.int('DELIVERY_BACKOFF_CAP_MS', 300_000, 10, 86_400_000),
    leaseMs: r.int('DELIVERY_LEASE_MS', 30_000, 1_000, 600_000),
    graceMs: r.int('DELIVERY_GRACE_MS', 120_000, 0, 3_600_000),
    sweepEvery: sweepEvery(r),
    concurrency: r.int('DELIVERY_CONCURRENCY', 8, 1, 64),
    telegramTimeoutMs: r.int('TELEGRAM_TIMEOUT_MS', 10_000, 100, 60_000),
  };
}

/** The longest DELIVERY_SWEEP_EVERY: a lost immediate attempt is retried within this of DELIVERY_GRACE_MS after payment. */
export const MAX_SWEEP_EVERY_MS = 30_000;

const UNITS_MS: Record<string, number> = { ms: 1, millisecond: 1, milliseconds: 1, s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000, m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000 };

/** "30 seconds", "10s", "500 ms", "1 minute" in milliseconds; null for anything else. */
export function intervalToMs(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim());
  const unit = match ? UNITS_MS[match[2].toLowerCase()] : undefined;
  return match && unit !== undefined ? Number(match[1]) * unit : null;
}

function sweepEvery(r: Reader): string {
  const value = r.str('DELIVERY_SWEEP_EVERY', '30 seconds')!;
  const ms = intervalToMs(value);
  if (ms === null || ms < 1000 || ms > MAX_SWEEP_EVERY_MS) r.problems.push(`DELIVERY_SWEEP_EVERY must be an interval from 1 second to 30 seconds, like "30 seconds" (got "${value}")`);
  return value;
}

/** Called by loadConfig after every section is read, so this problem stays last in the list. */
export function checkDeliveryLease(delivery: DeliveryConfig, problems: string[]): void {
  // A confirmed delivery claim is held for half a lease (DeliveryService.holdClaim); the message must go out within it.
  if (delivery.leaseMs <= 2 * delivery.telegramTimeoutMs) {
    problems.push(`DELIVERY_LEASE_MS must exceed 2 × TELEGRAM_TIMEOUT_MS = ${2 * delivery.telegramTimeoutMs}`);
  }
}

export function accessConfig(r: Reader): AccessConfig {
  return {
    expiryCron: r.str('ACCESS_EXPIRY_CRON', '0 2 * * *')!,
    batchSize: r.int('ACCESS_EXPIRY_BATCH_SIZE', 200, 1, 10_000),
    renewalGraceMs: r.int('RENEWAL_GRACE_HOURS', 72, 0, 24 * 60) * 3_600_000,
    retentionEvery: r.str('RETENTION_EVERY', '1 hour')!,
    failedPaymentRetentionDays: r.int('FAILED_PAYMENT_RETENTION_DAYS', 30, 1, 3650),
  };
}

export function emailConfig(r: Reader): EmailConfig {
  return {
    smtpUrl: r.url('SMTP_URL', undefined, ['smtp:', 'smtps:']),
    from: r.str('EMAIL_FROM', 'Recoup <no-reply@localhost>')!,
    fallbackGraceMs: r.int('EMAIL_FALLBACK_GRACE_MINUTES', 10, 0, 10_080) * 60_000,
    fallbackEvery: r.str('EMAIL_FALLBACK_EVERY', '1 minute')!,
  };
}
