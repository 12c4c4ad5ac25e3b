import { LeaseQueue, type LeaseQueueSpec, type SqlExecutor } from '../../src/platform/jobs/lease-queue';

const NOW = new Date('2026-01-01T00:00:00Z');
const spec: LeaseQueueSpec = { table: 'things', leaseMs: 30_000, backoff: { baseMs: 1_000, capMs: 60_000, jitter: 0.2 }, maxAttempts: 5 };

/** Records each statement; answers no rows. */
function recorder(): SqlExecutor & { calls: Array<{ sql: string; params: unknown[] }> } {
  const calls: Array<{ sql: string; params: unknown[] }> = [];
  return {
    calls,
    execute: async (sql: string, params: unknown[] = []) => {
      calls.push({ sql, params });
      return [];
    },
  };
}

describe('LeaseQueue.retryAt', () => {
  const queue = new LeaseQueue(spec);
  const delay = (attempts: number, random: () => number, atLeastMs?: number) => queue.retryAt(attempts, NOW, atLeastMs, random).getTime() - NOW.getTime();

  it('doubles from the base, within ± the configured jitter, and never past the cap', () => {
    expect([1, 2, 3].map((a) => delay(a, () => 0))).toEqual([800, 1_600, 3_200]);
    expect([1, 2, 3].map((a) => delay(a, () => 0.5))).toEqual([1_000, 2_000, 4_000]);
    expect([1, 2, 3].map((a) => delay(a, () => 0.999_999))).toEqual([1_200, 2_400, 4_800]);
    expect(delay(20, () => 0.999_999)).toBe(60_000);
    expect(delay(20, () => 0)).toBe(48_000);
  });

  it('takes the jitter from its spec: none is exact', () => {
    const exact = new LeaseQueue({ ...spec, backoff: { ...spec.backoff!, jitter: 0 } });
    expect(exact.retryAt(3, NOW, 0, Math.random).getTime() - NOW.getTime()).toBe(4_000);
  });

  it('waits at least what the other side asked for (a Retry-After)', () => {
    expect(delay(1, () => 0.5, 10_000)).toBe(10_000);
    expect(delay(3, () => 0.5, 10)).toBe(4_000);
  });
});

describe('LeaseQueue', () => {
  it('is spent after maxAttempts, and never without one', () => {
    const queue = new LeaseQueue(spec);
    expect([4, 5, 6].map((a) => queue.spent(a))).toEqual([false, true, true]);
    expect(new LeaseQueue({ ...spec, maxAttempts: undefined }).spent(1_000)).toBe(false);
  });

  it('asks nothing of the database for an empty claim', async () => {
    const db = recorder();
    const queue = new LeaseQueue(spec);
    expect(await queue.claim(db, { now: NOW, limit: 0 })).toEqual([]);
    expect(await queue.claim(db, { now: NOW, limit: 10, ids: [] })).toEqual([]);
    expect(db.calls).toEqual([]);
  });

  it('claims in one statement, SKIP LOCKED, with the lease end and each parameter in its place', async () => {
    const db = recorder();
    const queue = new LeaseQueue({ ...spec, ready: `status = 'OPEN'`, claimSet: `status = 'BUSY'` });
    await queue.claim(db, { now: NOW, limit: 7, ids: ['a', 'b'], where: 'kind = ?', params: ['x'], set: 'token = ?', setParams: ['t'] });
    expect(db.calls).toHaveLength(1);
    const { sql, params } = db.calls[0]!;
    expect(sql.replace(/\s+/g, ' ')).toBe(
      `update things set next_attempt_at = ?, updated_at = ?, status = 'BUSY', token = ? where id in (select id from things where (next_attempt_at <= ?) and (status = 'OPEN') and attempts < ? and id in (?, ?) and (kind = ?) order by next_attempt_at limit ? for update skip locked) returning id`,
    );
    expect(params).toEqual([new Date(NOW.getTime() + 30_000), NOW, 't', NOW, 5, 'a', 'b', 'x', 7]);
  });

  it('an attempt counted by the claim is not filtered by it: a worker that died on the last one still gets it retried or given up', async () => {
    const db = recorder();
    await new LeaseQueue({ ...spec, countOnClaim: true }).claim(db, { now: NOW, limit: 1 });
    expect(db.calls[0]!.sql).toContain('attempts = attempts + 1');
    expect(db.calls[0]!.sql).not.toContain('attempts <');
  });

  it('refuses to count attempts on claim without an attempts column', () => {
    expect(() => new LeaseQueue({ ...spec, attemptsColumn: null, countOnClaim: true })).toThrow(/countOnClaim needs an attempts column/);
  });
});
