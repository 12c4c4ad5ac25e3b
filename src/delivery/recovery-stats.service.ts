import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database, Publisher } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { Topic } from '../platform/shared/topics';

export interface RecoveryStatsSnapshot {
  /** Payments with a delivery state: every payment that became paid. */
  successfulPayments: number;
  delivered: number;
  failedDeliveries: number;
  awaitingCustomer: number;
  /** PENDING or IN_PROGRESS: owed and on their way. */
  pendingDeliveries: number;
  /** Delivered after a failed or missed attempt. */
  recovered: number;
  /** delivered / successfulPayments; null when there are none. */
  deliverySuccessRate: number | null;
  /** recovered / (recovered + failedDeliveries): of the deliveries that went wrong, the share we saved. */
  recoverySuccessRate: number | null;
  avgSecondsToDelivery: number | null;
  p95SecondsToDelivery: number | null;
  computedAt: Date;
}

interface CounterRow {
  key: string;
  n: number;
  seconds: number;
}

/**
 * delivery_counters holds, per shard, a count per key (successful, delivered, failed, awaiting,
 * pending, recovered; timed with its sum of seconds; le_<seconds> buckets of seconds from payment
 * to delivery), kept by triggers on deliveries in the transactions that change them. Reading it is
 * a few hundred rows whatever the number of payments.
 */
const COUNTERS_SQL = `select key, sum(n)::float8 as n, sum(seconds)::float8 as seconds from delivery_counters group by key`;

/** The feed's interval is at least this many times the stats query's last duration. */
const LOAD_FACTOR = 5;

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** Upper bounds in seconds, ascending, with their counts; `le_inf` last. */
function histogram(counts: Map<string, CounterRow>): Array<{ upper: number; n: number }> {
  return [...counts.values()]
    .filter((row) => row.key.startsWith('le_'))
    .map((row) => ({ upper: row.key === 'le_inf' ? Infinity : Number(row.key.slice(3)), n: row.n }))
    .sort((a, b) => a.upper - b.upper);
}

/**
 * The q-quantile from the buckets, interpolated linearly within the one it falls in (as
 * Prometheus's histogram_quantile does); in the open last bucket, its lower bound.
 */
export function quantileOf(buckets: Array<{ upper: number; n: number }>, q: number): number | null {
  const total = buckets.reduce((sum, b) => sum + b.n, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  let lower = 0;
  for (const bucket of buckets) {
    if (bucket.n > 0 && below + bucket.n >= rank) {
      if (!Number.isFinite(bucket.upper)) return lower;
      return lower + ((bucket.upper - lower) * (rank - below)) / bucket.n;
    }
    below += bucket.n;
    if (Number.isFinite(bucket.upper)) lower = bucket.upper;
  }
  return lower;
}

/** Delivery and recovery figures for dashboards, from the counters: O(1) in the number of payments. */
export class RecoveryStatsService {
  constructor(private readonly db: Database) {}

  async compute(em: EntityManager = this.db.fork()): Promise<RecoveryStatsSnapshot> {
    const rows = (await em.execute(COUNTERS_SQL)) as CounterRow[];
    const counts = new Map(rows.map((row) => [row.key, row]));
    const n = (key: string): number => counts.get(key)?.n ?? 0;
    const timed = counts.get('timed');
    return {
      successfulPayments: n('successful'),
      delivered: n('delivered'),
      failedDeliveries: n('failed'),
      awaitingCustomer: n('awaiting'),
      pendingDeliveries: n('pending'),
      recovered: n('recovered'),
      deliverySuccessRate: ratio(n('delivered'), n('successful')),
      recoverySuccessRate: ratio(n('recovered'), n('recovered') + n('failed')),
      avgSecondsToDelivery: timed && timed.n > 0 ? timed.seconds / timed.n : null,
      p95SecondsToDelivery: quantileOf(histogram(counts), 0.95),
      computedAt: this.db.clock.now(),
    };
  }
}

/**
 * Pushes fresh stats to `recoveryStatsUpdated` when deliveries change, at most once per interval
 * in this process: the first change publishes at once (leading), changes during the interval are
 * folded into one more publish at its end (trailing), so the last event reflects every change. A
 * burst of deliveries costs two stats queries, not one per delivery. The interval also stretches
 * to 5× the stats query's last duration, which keeps this feed under a fifth of the database's time. Publishes run one after another, so
 * a slow query cannot deliver older stats after newer ones.
 */
export class RecoveryStatsFeed {
  private timer: NodeJS.Timeout | null = null;
  private pending = false;
  private stopped = false;
  private lastComputeMs = 0;
  private publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly stats: RecoveryStatsService,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** A delivery status changed (called after its commit). */
  changed(): void {
    if (this.stopped) return;
    if (this.timer) {
      this.pending = true;
      return;
    }
    this.fire();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.pending = false;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.pending && !this.stopped) this.fire();
    }, Math.max(this.intervalMs, LOAD_FACTOR * this.lastComputeMs));
    this.timer.unref();
    this.publishing = this.publishing.then(() => this.publish());
  }

  private async publish(): Promise<void> {
    const started = Date.now();
    try {
      const stats = await this.stats.compute();
      this.lastComputeMs = Date.now() - started;
      this.publisher.publish(Topic.RECOVERY_STATS_UPDATED, stats);
    } catch (error) {
      // Stats are a convenience: the next change publishes again. (Also: a query racing shutdown.)
      this.logger.warn({ err: error }, 'could not publish recovery stats');
    }
  }
}
