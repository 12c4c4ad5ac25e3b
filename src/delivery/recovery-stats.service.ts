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

interface StatsRow {
  successful: number;
  delivered: number;
  failed: number;
  awaiting: number;
  pending: number;
  recovered: number;
  avg_seconds: number | string | null;
  p95_seconds: number | string | null;
}

const STATS_SQL = `
  select count(*)::int as successful,
         count(*) filter (where delivery_status = 'DELIVERED')::int as delivered,
         count(*) filter (where delivery_status = 'FAILED')::int as failed,
         count(*) filter (where delivery_status = 'AWAITING_CUSTOMER')::int as awaiting,
         count(*) filter (where delivery_status in ('PENDING', 'IN_PROGRESS'))::int as pending,
         count(*) filter (where delivery_status = 'DELIVERED' and delivery_recovered)::int as recovered,
         avg(extract(epoch from delivered_at - paid_at)) filter (where delivery_status = 'DELIVERED') as avg_seconds,
         percentile_cont(0.95) within group (order by extract(epoch from delivered_at - paid_at))
           filter (where delivery_status = 'DELIVERED') as p95_seconds
    from payments
   where delivery_status is not null`;

/** The feed's interval is at least this many times the stats query's last duration. */
const LOAD_FACTOR = 5;

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);
const seconds = (value: number | string | null): number | null => (value === null ? null : Number(value));

/** Delivery and recovery figures for dashboards, in one query. */
export class RecoveryStatsService {
  constructor(private readonly db: Database) {}

  async compute(em: EntityManager = this.db.fork()): Promise<RecoveryStatsSnapshot> {
    const [row] = (await em.execute(STATS_SQL)) as StatsRow[];
    return {
      successfulPayments: row.successful,
      delivered: row.delivered,
      failedDeliveries: row.failed,
      awaitingCustomer: row.awaiting,
      pendingDeliveries: row.pending,
      recovered: row.recovered,
      deliverySuccessRate: ratio(row.delivered, row.successful),
      recoverySuccessRate: ratio(row.recovered, row.recovered + row.failed),
      avgSecondsToDelivery: seconds(row.avg_seconds),
      p95SecondsToDelivery: seconds(row.p95_seconds),
      computedAt: this.db.clock.now(),
    };
  }
}

/**
 * Pushes fresh stats to `recoveryStatsUpdated` when deliveries change, at most once per interval
 * in this process: the first change publishes at once (leading), changes during the interval are
 * folded into one more publish at its end (trailing), so the last event reflects every change. A
 * burst of deliveries costs two stats queries, not one per delivery. The stats query reads every
 * paid payment (about 0.7 s at 1M rows), so the interval also stretches to 5× its last duration,
 * which keeps this feed under a fifth of the database's time. Publishes run one after another, so
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
