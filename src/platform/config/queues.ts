/**
 * What every lease queue (src/platform/jobs/lease-queue.ts) shares: the jitter of its backoff, and
 * the base and cap of the queues that have no section of their own. Capture, alert notify and
 * delivery keep theirs in their sections (CAPTURE_BACKOFF_*, ALERT_WEBHOOK_BACKOFF_*,
 * DELIVERY_BACKOFF_*). The retry jobs' delays are their dunning strategies (RETRY_JITTER_PERCENT).
 */
import type { BackoffPolicy } from '../shared/backoff';
import type { Reader } from './reader';

export interface QueueBackoff {
  backoffBaseMs: number;
  backoffCapMs: number;
}

export interface QueuesConfig {
  /** 0..1: the share of each retry delay that is randomised, so rows failing together do not retry together. */
  jitter: number;
  /** Stripe events the inbox could not apply. */
  inbox: QueueBackoff;
  telegramOutbox: QueueBackoff;
}

export function queuesConfig(r: Reader): QueuesConfig {
  return {
    jitter: r.int('QUEUE_JITTER_PERCENT', 20, 0, 50) / 100,
    inbox: {
      backoffBaseMs: r.int('INBOX_BACKOFF_BASE_MS', 5_000, 10, 3_600_000),
      backoffCapMs: r.int('INBOX_BACKOFF_CAP_MS', 300_000, 10, 86_400_000),
    },
    telegramOutbox: {
      backoffBaseMs: r.int('TELEGRAM_OUTBOX_BACKOFF_BASE_MS', 2_000, 10, 3_600_000),
      backoffCapMs: r.int('TELEGRAM_OUTBOX_BACKOFF_CAP_MS', 600_000, 10, 86_400_000),
    },
  };
}

/** A queue's backoff policy: its own base and cap, the shared jitter. */
export function queueBackoff(queue: QueueBackoff, queues: Pick<QueuesConfig, 'jitter'>): BackoffPolicy {
  return { baseMs: queue.backoffBaseMs, capMs: queue.backoffCapMs, jitter: queues.jitter };
}

/** A base above its cap would make every retry wait the cap: almost certainly a typo. */
export function checkBackoffs(queues: Record<string, QueueBackoff>, problems: string[]): void {
  for (const [prefix, queue] of Object.entries(queues)) {
    if (queue.backoffBaseMs > queue.backoffCapMs) problems.push(`${prefix}_BACKOFF_BASE_MS must not exceed ${prefix}_BACKOFF_CAP_MS (${queue.backoffCapMs})`);
  }
}
