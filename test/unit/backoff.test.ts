import { DEFAULT_BACKOFF, retryDelayMs } from '../../src/platform/shared/backoff';

const SECOND = 1_000;
const CAP = 5 * 60 * SECOND;
const middle = () => 0.5;
const lowest = () => 0;
const highest = () => 0.999_999;

describe('retry backoff', () => {
  it('doubles from 5 s per attempt when jitter lands in the middle', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(attempt, DEFAULT_BACKOFF, middle));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160].map((s) => s * SECOND));
  });

  it('never waits longer than 5 minutes, however many attempts have failed', () => {
    for (const attempt of [7, 8, 20, 100, 5_000]) {
      expect(retryDelayMs(attempt, DEFAULT_BACKOFF, middle)).toBe(CAP);
      expect(retryDelayMs(attempt, DEFAULT_BACKOFF, highest)).toBeLessThanOrEqual(CAP);
      expect(retryDelayMs(attempt, DEFAULT_BACKOFF, lowest)).toBe(0.8 * CAP);
    }
  });

  it('spreads each delay by ±20% so items that failed together do not retry together', () => {
    expect(retryDelayMs(1, DEFAULT_BACKOFF, lowest)).toBe(4 * SECOND);
    expect(retryDelayMs(1, DEFAULT_BACKOFF, highest)).toBe(6 * SECOND);
    expect(retryDelayMs(3, DEFAULT_BACKOFF, lowest)).toBe(16 * SECOND);
    expect(retryDelayMs(3, DEFAULT_BACKOFF, highest)).toBe(24 * SECOND);
    expect(retryDelayMs(3, DEFAULT_BACKOFF, () => 0.25)).toBe(18 * SECOND);
  });

  it('stays inside the jitter bounds for any random value and is a whole number of ms', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const base = Math.min(CAP, 5 * SECOND * 2 ** (attempt - 1));
      for (const r of [0, 0.1, 0.33, 0.5, 0.77, 0.999]) {
        const delay = retryDelayMs(attempt, DEFAULT_BACKOFF, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(base * 0.8);
        expect(delay).toBeLessThanOrEqual(Math.min(CAP, base * 1.2));
      }
    }
  });

  it('uses real randomness by default, so two items rarely share a delay', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(4)));
    expect(delays.size).toBeGreaterThan(1);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(32 * SECOND);
  });

  it('treats attempt 0 (or less) like the first retry instead of a shorter wait', () => {
    expect(retryDelayMs(0, DEFAULT_BACKOFF, middle)).toBe(5 * SECOND);
    expect(retryDelayMs(-3, DEFAULT_BACKOFF, middle)).toBe(5 * SECOND);
  });

  it('follows a custom policy: base, cap and no jitter', () => {
    const policy = { baseMs: 100, capMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, policy, highest))).toEqual([100, 200, 400, 800, 1_000]);
  });
});
