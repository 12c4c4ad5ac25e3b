import { AnalyticsBucket, bucketSpans, calendarStart, currencyOf, MAX_BUCKETS } from '../../src/analytics/analytics-buckets';
import { AnalyticsError } from '../../src/analytics/analytics.errors';

const at = (iso: string) => new Date(`${iso}T00:00:00.000Z`);
const spans = (from: string, to: string, bucket: AnalyticsBucket) =>
  bucketSpans(at(from), at(to), bucket).map((s) => [s.key, s.start.toISOString().slice(0, 10), s.end.toISOString().slice(0, 10)]);
const reasonOf = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error instanceof AnalyticsError ? error.details.reason : error;
  }
  return 'no error';
};

describe('analytics buckets', () => {
  it('starts weeks on Monday and months on the 1st, in UTC', () => {
    expect(calendarStart(new Date('2026-12-06T23:59:59Z'), AnalyticsBucket.WEEK).toISOString()).toBe('2026-11-30T00:00:00.000Z'); // a Sunday
    expect(calendarStart(new Date('2026-11-30T00:00:00Z'), AnalyticsBucket.WEEK).toISOString()).toBe('2026-11-30T00:00:00.000Z'); // a Monday
    expect(calendarStart(new Date('2028-02-29T12:00:00Z'), AnalyticsBucket.MONTH).toISOString()).toBe('2028-02-01T00:00:00.000Z');
    expect(calendarStart(new Date('2026-12-03T18:30:00Z'), AnalyticsBucket.DAY).toISOString()).toBe('2026-12-03T00:00:00.000Z');
  });

  it('gives one span per bucket meeting [from, to), the edges clipped to it', () => {
    expect(spans('2026-12-01', '2026-12-04', AnalyticsBucket.DAY)).toEqual([
      ['2026-12-01', '2026-12-01', '2026-12-02'],
      ['2026-12-02', '2026-12-02', '2026-12-03'],
      ['2026-12-03', '2026-12-03', '2026-12-04'],
    ]);
    expect(spans('2026-12-03', '2026-12-16', AnalyticsBucket.WEEK)).toEqual([
      ['2026-11-30', '2026-12-03', '2026-12-07'],
      ['2026-12-07', '2026-12-07', '2026-12-14'],
      ['2026-12-14', '2026-12-14', '2026-12-16'],
    ]);
    expect(spans('2026-11-15', '2027-02-01', AnalyticsBucket.MONTH)).toEqual([
      ['2026-11-01', '2026-11-15', '2026-12-01'],
      ['2026-12-01', '2026-12-01', '2027-01-01'],
      ['2027-01-01', '2027-01-01', '2027-02-01'],
    ]);
  });

  it(`allows ${MAX_BUCKETS} points, refuses one more, and refuses ranges that are not whole UTC days`, () => {
    expect(bucketSpans(at('2026-01-01'), at('2027-02-05'), AnalyticsBucket.DAY)).toHaveLength(400);
    expect(reasonOf(() => bucketSpans(at('2026-01-01'), at('2027-02-06'), AnalyticsBucket.DAY))).toBe('RANGE_TOO_LONG');
    expect(bucketSpans(at('2000-01-01'), at('2033-05-01'), AnalyticsBucket.MONTH)).toHaveLength(400);
    expect(reasonOf(() => bucketSpans(at('2000-01-01'), at('2033-05-02'), AnalyticsBucket.MONTH))).toBe('RANGE_TOO_LONG');
    expect(reasonOf(() => bucketSpans(at('1970-01-01'), at('9999-12-31'), AnalyticsBucket.WEEK))).toBe('RANGE_TOO_LONG');
    expect(reasonOf(() => bucketSpans(new Date('2026-01-01T00:00:01Z'), at('2026-01-03'), AnalyticsBucket.DAY))).toBe('RANGE_NOT_WHOLE_DAYS');
    expect(reasonOf(() => bucketSpans(at('2026-01-03'), at('2026-01-01'), AnalyticsBucket.DAY))).toBe('RANGE_EMPTY');
    expect(reasonOf(() => bucketSpans(new Date(Number.NaN), at('2026-01-01'), AnalyticsBucket.DAY))).toBe('RANGE_OUT_OF_BOUNDS');
    expect(reasonOf(() => bucketSpans(at('1969-12-31'), at('1970-01-02'), AnalyticsBucket.DAY))).toBe('RANGE_OUT_OF_BOUNDS');
  });

  it('takes ISO currency letters in either case and stores them lower case', () => {
    expect(currencyOf('EUR')).toBe('eur');
    expect(reasonOf(() => currencyOf('euro'))).toBe('CURRENCY_INVALID');
  });
});
