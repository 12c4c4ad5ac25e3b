import type { EntityManager } from '@mikro-orm/postgresql';
import { quantileOf } from '../delivery/recovery-stats.service';
import { AnalyticsBucket, bucketSpans, currencyOf, dayKey, TRUNC_UNIT } from './analytics-buckets';

export interface RevenuePointData {
  bucketStart: Date;
  bucketEnd: Date;
  grossMinor: number;
  refundedMinor: number;
  netMinor: number;
  payments: number;
  firstPurchases: number;
  renewals: number;
  checkoutsStarted: number;
  checkoutsSucceeded: number;
  checkoutSuccessRate: number | null;
  activeSubscriptions: number;
  churned: number;
}

export interface DeliveryPointData {
  bucketStart: Date;
  bucketEnd: Date;
  delivered: number;
  recovered: number;
  failed: number;
  avgSeconds: number | null;
  p95Seconds: number | null;
}

/** delivery_counters' upper bounds in seconds (the delivery_daily columns le_<bound>, then le_inf). */
export const SECONDS_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800] as const;
const BUCKET_COLUMNS = [...SECONDS_BUCKETS.map((b) => `le_${b}`), 'le_inf'];

const MONEY = ['gross_minor', 'refunded_minor', 'payments', 'first_purchases', 'renewals', 'checkouts_started', 'checkouts_succeeded'];

/**
 * One round trip for revenueSeries: a first row (bucket null) with the subscriptions running
 * before the range, then per bucket the money and the subscriptions started and ended. Each table
 * is summed by day first (its shards), then by bucket.
 */
export const REVENUE_SQL = `with m as (select day, ${MONEY.map((c) => `sum(${c}) as ${c}`).join(', ')} from analytics_daily
                where currency = ? and day >= ?::date and day < ?::date group by day),
       s as (select day, sum(started) as started, sum(ended) as ended from subscription_daily where day >= ?::date and day < ?::date group by day)
  select null as bucket, ${MONEY.map((c) => `0::float8 as ${c}`).join(', ')},
         (select coalesce(sum(started - ended), 0) from subscription_daily where day < ?::date)::float8 as started, 0::float8 as ended
  union all
  select to_char(date_trunc(?, coalesce(m.day, s.day)::timestamp), 'YYYY-MM-DD'), ${MONEY.map((c) => `coalesce(sum(m.${c}), 0)::float8`).join(', ')},
         coalesce(sum(s.started), 0)::float8, coalesce(sum(s.ended), 0)::float8
    from m full join s on s.day = m.day group by 1`;

export const DELIVERY_SQL = `select to_char(date_trunc(?, day::timestamp), 'YYYY-MM-DD') as bucket, ${['delivered', 'recovered', 'failed', 'timed', 'seconds', ...BUCKET_COLUMNS].map((c) => `sum(${c})::float8 as ${c}`).join(', ')}
  from (select day, ${['delivered', 'recovered', 'failed', 'timed', 'seconds', ...BUCKET_COLUMNS].map((c) => `sum(${c}) as ${c}`).join(', ')}
          from delivery_daily where day >= ?::date and day < ?::date group by day) d
  group by 1`;

type Row = Record<string, number | string | null> & { bucket: string | null };

const byBucket = (rows: Row[]): Map<string | null, Row> => new Map(rows.map((r) => [r.bucket, r]));
const num = (row: Row | undefined, column: string): number => Number(row?.[column] ?? 0);

/**
 * revenueSeries and deliverySeries from the daily rollups (analytics_daily, subscription_daily,
 * delivery_daily): one grouped read per table over the range's days, whatever the number of
 * payments, then one point per bucket, empty buckets included.
 */
export class AnalyticsService {
  async revenueSeries(em: EntityManager, args: { from: Date; to: Date; bucket: AnalyticsBucket; currency: string }): Promise<RevenuePointData[]> {
    const currency = currencyOf(args.currency);
    const spans = bucketSpans(args.from, args.to, args.bucket);
    const [from, to] = [dayKey(args.from), dayKey(args.to)];
    const unit = TRUNC_UNIT[args.bucket];
    const rows = byBucket(await em.execute<Row[]>(REVENUE_SQL, [currency, from, to, from, to, from, unit]));
    let active = num(rows.get(null), 'started');
    return spans.map((span) => {
      const r = rows.get(span.key);
      active += num(r, 'started') - num(r, 'ended');
      const [gross, refunded, started, succeeded] = [num(r, 'gross_minor'), num(r, 'refunded_minor'), num(r, 'checkouts_started'), num(r, 'checkouts_succeeded')];
      return {
        bucketStart: span.start,
        bucketEnd: span.end,
        grossMinor: gross,
        refundedMinor: refunded,
        netMinor: gross - refunded,
        payments: num(r, 'payments'),
        firstPurchases: num(r, 'first_purchases'),
        renewals: num(r, 'renewals'),
        checkoutsStarted: started,
        checkoutsSucceeded: succeeded,
        checkoutSuccessRate: started > 0 ? succeeded / started : null,
        activeSubscriptions: active,
        churned: num(r, 'ended'),
      };
    });
  }

  async deliverySeries(em: EntityManager, args: { from: Date; to: Date; bucket: AnalyticsBucket }): Promise<DeliveryPointData[]> {
    const spans = bucketSpans(args.from, args.to, args.bucket);
    const rows = byBucket(await em.execute<Row[]>(DELIVERY_SQL, [TRUNC_UNIT[args.bucket], dayKey(args.from), dayKey(args.to)]));
    return spans.map((span) => {
      const r = rows.get(span.key);
      const timed = num(r, 'timed');
      const histogram = BUCKET_COLUMNS.map((column, i) => ({ upper: i < SECONDS_BUCKETS.length ? SECONDS_BUCKETS[i] : Infinity, n: num(r, column) }));
      return {
        bucketStart: span.start,
        bucketEnd: span.end,
        delivered: num(r, 'delivered'),
        recovered: num(r, 'recovered'),
        failed: num(r, 'failed'),
        avgSeconds: timed > 0 ? num(r, 'seconds') / timed : null,
        p95Seconds: quantileOf(histogram, 0.95),
      };
    });
  }
}
