import { registerEnumType } from 'type-graphql';
import { AnalyticsError } from './analytics.errors';

/** UTC calendar buckets of a series: a day, a week starting on Monday, a month. */
export enum AnalyticsBucket {
  DAY = 'DAY',
  WEEK = 'WEEK',
  MONTH = 'MONTH',
}
registerEnumType(AnalyticsBucket, { name: 'AnalyticsBucket', description: 'UTC days, weeks starting on Monday, or calendar months.' });

/** A series has at most this many points. */
export const MAX_BUCKETS = 400;

const DAY_MS = 86_400_000;
/** Rollups are kept from here on: older or later times are refused as input, not queried. */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31);

/** date_trunc's unit for each bucket (a week in PostgreSQL starts on Monday, as ISO 8601 has it). */
export const TRUNC_UNIT: Record<AnalyticsBucket, 'day' | 'week' | 'month'> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };

/** One point's span: the calendar bucket clipped to [from, to); `key` is the calendar start, YYYY-MM-DD. */
export interface BucketSpan {
  key: string;
  start: Date;
  end: Date;
}

export function calendarStart(at: Date, bucket: AnalyticsBucket): Date {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  if (bucket === AnalyticsBucket.DAY) return new Date(day);
  if (bucket === AnalyticsBucket.WEEK) return new Date(day - ((at.getUTCDay() + 6) % 7) * DAY_MS);
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

function nextStart(start: Date, bucket: AnalyticsBucket): Date {
  if (bucket === AnalyticsBucket.DAY) return new Date(start.getTime() + DAY_MS);
  if (bucket === AnalyticsBucket.WEEK) return new Date(start.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

export const dayKey = (at: Date): string => at.toISOString().slice(0, 10);

/**
 * The points of a series over [from, to): every calendar bucket that meets the range, in order,
 * each clipped to it (the first and last WEEK or MONTH may cover part of their bucket). from and
 * to are UTC midnights (the rollups are daily); at most MAX_BUCKETS points.
 */
export function bucketSpans(from: Date, to: Date, bucket: AnalyticsBucket): BucketSpan[] {
  const [f, t] = [from.getTime(), to.getTime()];
  if (!Number.isFinite(f) || !Number.isFinite(t) || f < EARLIEST || t > LATEST) throw AnalyticsError.outOfBounds(from, to);
  if (f % DAY_MS !== 0 || t % DAY_MS !== 0) throw AnalyticsError.notWholeDays(from, to);
  if (t <= f) throw AnalyticsError.emptyRange(from, to);
  const count = countBuckets(from, to, bucket);
  if (count > MAX_BUCKETS) throw AnalyticsError.tooLong(bucket, count, MAX_BUCKETS);
  const spans: BucketSpan[] = [];
  for (let start = calendarStart(from, bucket); start.getTime() < t; start = nextStart(start, bucket)) {
    const end = nextStart(start, bucket);
    spans.push({ key: dayKey(start), start: new Date(Math.max(start.getTime(), f)), end: new Date(Math.min(end.getTime(), t)) });
  }
  return spans;
}

/** How many points [from, to) has, without building them. */
function countBuckets(from: Date, to: Date, bucket: AnalyticsBucket): number {
  const first = calendarStart(from, bucket);
  const last = calendarStart(new Date(to.getTime() - 1), bucket);
  if (bucket === AnalyticsBucket.MONTH) return (last.getUTCFullYear() - first.getUTCFullYear()) * 12 + last.getUTCMonth() - first.getUTCMonth() + 1;
  return Math.round((last.getTime() - first.getTime()) / (bucket === AnalyticsBucket.DAY ? DAY_MS : 7 * DAY_MS)) + 1;
}

/** ISO 4217 letters, as plans are created; stored lower case. */
export function currencyOf(input: string): string {
  if (!/^[A-Za-z]{3}$/.test(input)) throw AnalyticsError.badCurrency();
  return input.toLowerCase();
}
