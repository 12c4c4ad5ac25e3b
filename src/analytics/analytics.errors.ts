import { AppError } from '../platform/shared/errors';

const iso = (at: Date): string | null => (Number.isFinite(at.getTime()) ? at.toISOString() : null);

/**
 * A series that cannot be answered as asked: BAD_USER_INPUT, with `reason` saying which rule the
 * arguments broke (RANGE_TOO_LONG, RANGE_NOT_WHOLE_DAYS, RANGE_EMPTY, RANGE_OUT_OF_BOUNDS, CURRENCY_INVALID).
 */
export class AnalyticsError extends AppError {
  static tooLong(bucket: string, buckets: number, maxBuckets: number): AnalyticsError {
    return new AnalyticsError('BAD_USER_INPUT', `The range has ${buckets} ${bucket} buckets; a series has at most ${maxBuckets}: ask for a shorter range or a larger bucket`, { reason: 'RANGE_TOO_LONG', buckets, maxBuckets });
  }

  static notWholeDays(from: Date, to: Date): AnalyticsError {
    return new AnalyticsError('BAD_USER_INPUT', 'from and to must be UTC midnights (e.g. 2026-12-01T00:00:00Z): the figures are kept per UTC day', { reason: 'RANGE_NOT_WHOLE_DAYS', from: iso(from), to: iso(to) });
  }

  static emptyRange(from: Date, to: Date): AnalyticsError {
    return new AnalyticsError('BAD_USER_INPUT', 'to must be after from', { reason: 'RANGE_EMPTY', from: iso(from), to: iso(to) });
  }

  static outOfBounds(from: Date, to: Date): AnalyticsError {
    return new AnalyticsError('BAD_USER_INPUT', 'from and to must lie between 1970-01-01 and 9999-12-31', { reason: 'RANGE_OUT_OF_BOUNDS', from: iso(from), to: iso(to) });
  }

  static badCurrency(): AnalyticsError {
    return new AnalyticsError('BAD_USER_INPUT', 'currency must be a three-letter ISO 4217 code, e.g. usd', { reason: 'CURRENCY_INVALID' });
  }
}
