/**
 * The lease-queue primitive against the real PostgreSQL, on a table of its own: SKIP LOCKED claims
 * from separate connections, leases that run out, renewals, backoff within the jitter, giving up.
 * Times are passed in (`now`), so no test waits for a lease.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { openAppOrm } from '../../src/app/entities';
import type { Orm } from '../../src/platform/database/orm';
import { LeaseQueue, type LeaseQueueSpec } from '../../src/platform/jobs/lease-queue';
import { createTestDatabase, type TestDatabase } from '../support/database';

const T0 = new Date('2026-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const LEASE = 10_000;
const BACKOFF = { baseMs: 1_000, capMs: 8_000, jitter: 0.2 };
const SPEC: LeaseQueueSpec = { table: 'lq_items', leaseMs: LEASE, backoff: BACKOFF, maxAttempts: 4, lastError: { column: 'last_error', maxLength: 20 }, ready: `done_at is null` };

let db: TestDatabase;
let orm: Orm;
const em = (): EntityManager => orm.em.fork() as EntityManager;
type Item = { id: string; attempts: number; next_attempt_at: Date | null; last_error: string | null; lease_token: string | null; lease_expires_at: Date | null };
const asDate = (v: unknown): Date | null => (v === null ? null : new Date(v as string));
async function item(id: string): Promise<Item> {
  const [row] = (await em().execute(`select * from lq_items where id = ?`, [id])) as Item[];
  return { ...row!, next_attempt_at: asDate(row!.next_attempt_at), lease_expires_at: asDate(row!.lease_expires_at) };
}

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await openAppOrm(db.url, 10);
  await em().execute(`create table lq_items (
    id text primary key, kind text not null default 'a', attempts int not null default 0, next_attempt_at timestamptz,
    last_error text, done_at timestamptz, status text not null default 'QUEUED', lease_token text, lease_expires_at timestamptz,
    updated_at timestamptz)`);
  await em().execute(`create table lq_owners (item_id text primary key references lq_items (id), active boolean not null)`);
});
afterAll(async () => {
  await orm?.close();
  await db?.drop();
});
beforeEach(async () => {
  await em().execute(`truncate lq_items cascade`);
});

async function seed(n: number, due: Date | null = T0, prefix = 'item'): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  await em().execute(`insert into lq_items (id, next_attempt_at) select unnest(?::text[]), ?`, [`{${ids.join(',')}}`, due]);
  return ids;
}

describe('LeaseQueue on PostgreSQL', () => {
  it('two claimers on two connections never get the same row, and neither waits for the other', async () => {
    const ids = await seed(200);
    const queue = new LeaseQueue(SPEC);
    // Each claim is held open in its own transaction for a while, so the two really overlap: the
    // second sees the first one's rows still due, but locked.
    const claimer = async (): Promise<string[]> => {
      const mine: string[] = [];
      for (;;) {
        const rows = await em().transactional(async (tx) => {
          const claimed = await queue.claim(tx, { now: at(1), limit: 7 });
          await tx.execute(`select pg_sleep(0.02)`);
          return claimed;
        });
        if (rows.length === 0) return mine;
        mine.push(...rows.map((r) => r.id));
      }
    };
    const [a, b] = await Promise.all([claimer(), claimer()]);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    expect([...a, ...b].sort()).toEqual(ids);
  });

  it('SKIP LOCKED: a claim beside an open transaction holding rows takes the others at once', async () => {
    await seed(10);
    const queue = new LeaseQueue(SPEC);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstClaimed!: (ids: string[]) => void;
    const first = new Promise<string[]>((resolve) => (firstClaimed = resolve));
    const holder = em().transactional(async (tx) => {
      firstClaimed((await queue.claim(tx, { now: at(1), limit: 4 })).map((r) => r.id));
      await held;
    });
    const a = await first;
    const started = Date.now();
    const b = (await queue.claim(em(), { now: at(1), limit: 10 })).map((r) => r.id);
    const tookMs = Date.now() - started;
    release();
    await holder;
    expect(a).toHaveLength(4);
    expect(b).toHaveLength(6);
    expect(b.filter((id) => a.includes(id))).toEqual([]);
    expect(tookMs).toBeLessThan(2_000);
  });

  it('a claimed row is not due until its lease runs out, then it is claimed again', async () => {
    const [id] = await seed(1);
    const queue = new LeaseQueue({ ...SPEC, countOnClaim: true, returning: 'id, attempts' });
    expect(await queue.claim(em(), { now: at(0), limit: 5 })).toEqual([{ id, attempts: 1 }]);
    expect((await item(id!)).next_attempt_at).toEqual(at(LEASE));
    expect(await queue.claim(em(), { now: at(LEASE - 1), limit: 5 })).toEqual([]);
    // The worker died: at the lease end the row is anyone's, and the lost attempt was counted.
    expect(await queue.claim(em(), { now: at(LEASE), limit: 5 })).toEqual([{ id, attempts: 2 }]);
  });

  it('renew extends the lease of the claim that holds it, and not of one that lost it', async () => {
    const [id] = await seed(1);
    const queue = new LeaseQueue(SPEC);
    await queue.claim(em(), { now: at(0), limit: 1 });
    expect(await queue.renew(em(), id!, at(8_000), { leaseUntil: at(LEASE) })).toEqual(at(8_000 + LEASE));
    expect(await queue.claim(em(), { now: at(LEASE), limit: 1 })).toEqual([]);
    // The lease end we wrote is no longer there: the renewal says the claim is lost.
    expect(await queue.renew(em(), id!, at(9_000), { leaseUntil: at(LEASE) })).toBeNull();
    expect((await item(id!)).next_attempt_at).toEqual(at(8_000 + LEASE));
  });

  it('hold keeps a lease with more than half left, renews one with less, and answers null for a lost one', async () => {
    const [id] = await seed(1);
    const queue = new LeaseQueue(SPEC);
    await queue.claim(em(), { now: at(0), limit: 1 });
    expect(await queue.hold(em(), id!, at(LEASE), at(4_000))).toEqual(at(LEASE));
    expect((await item(id!)).next_attempt_at).toEqual(at(LEASE));
    expect(await queue.hold(em(), id!, at(LEASE), at(6_000))).toEqual(at(6_000 + LEASE));
    expect(await queue.hold(em(), id!, at(LEASE), at(9_000))).toBeNull();
  });

  it('retryLater schedules the next attempt with backoff inside the jitter, and stores the error', async () => {
    const ids = await seed(50);
    const queue = new LeaseQueue(SPEC);
    for (const attempts of [1, 2, 3]) {
      const delays: number[] = [];
      for (const id of ids) {
        const next = await queue.retryLater(em(), id, attempts, at(0), 'HTTP 503 from the receiver, again');
        expect((await item(id)).next_attempt_at).toEqual(next);
        delays.push(next!.getTime() - T0.getTime());
      }
      const nominal = BACKOFF.baseMs * 2 ** (attempts - 1);
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(Math.max(...delays)).toBeLessThanOrEqual(nominal * 1.2);
      // 50 draws: spread out, not all the same delay.
      expect(new Set(delays).size).toBeGreaterThan(10);
    }
    expect((await item(ids[0]!)).last_error).toBe('HTTP 503 from the re');
    expect(await queue.claim(em(), { now: at(3_000), limit: 100 })).toEqual([]);
    expect((await queue.claim(em(), { now: at(4_800), limit: 100 })).length).toBe(50);
  });

  it('a retry never waits past the cap, nor less than a Retry-After', async () => {
    const [id] = await seed(1);
    const queue = new LeaseQueue(SPEC);
    expect((await queue.retryLater(em(), id!, 3, at(0), 'x'))!.getTime() - T0.getTime()).toBeLessThanOrEqual(BACKOFF.capMs);
    expect(await queue.retryLater(em(), id!, 1, at(0), 'x', { atLeastMs: 30_000 })).toEqual(at(30_000));
  });

  it('gives up after maxAttempts: the row is never due again, and a claim skips a spent row even if it is due', async () => {
    const [id, spentButDue] = await seed(2);
    await em().execute(`update lq_items set attempts = 4 where id = ?`, [spentButDue]);
    const queue = new LeaseQueue(SPEC);
    expect(await queue.retryLater(em(), id!, 3, at(0), 'still failing')).not.toBeNull();
    expect(await queue.retryLater(em(), id!, 4, at(0), 'gave up')).toBeNull();
    expect(await item(id!)).toMatchObject({ next_attempt_at: null, last_error: 'gave up' });
    expect(await queue.claim(em(), { now: at(24 * 3_600_000), limit: 10 })).toEqual([]);
  });

  it('narrows a claim to given ids or a predicate, and takes only ready rows', async () => {
    const ids = await seed(5);
    await em().execute(`update lq_items set kind = 'b' where id in (?, ?)`, [ids[0], ids[1]]);
    await em().execute(`update lq_items set done_at = ? where id = ?`, [T0, ids[2]]);
    const queue = new LeaseQueue(SPEC);
    expect(await queue.claim(em(), { now: at(0), limit: 10, ids: [ids[2]!, ids[3]!] })).toEqual([{ id: ids[3] }]);
    expect((await queue.claim(em(), { now: at(0), limit: 10, where: 'kind = ?', params: ['b'] })).map((r) => r.id).sort()).toEqual([ids[0], ids[1]]);
    expect(await queue.claim(em(), { now: at(0), limit: 10 })).toEqual([{ id: ids[4] }]);
  });

  it('a null due time is due when the spec says so; orDue takes rows the due column does not', async () => {
    const [unscheduled] = await seed(1, null);
    const [, later] = await seed(2, at(60_000), 'later');
    const plain = new LeaseQueue(SPEC);
    expect(await plain.claim(em(), { now: at(0), limit: 10 })).toEqual([]);
    expect(await new LeaseQueue({ ...SPEC, dueWhenNull: true }).claim(em(), { now: at(0), limit: 10 })).toEqual([{ id: unscheduled }]);
    expect(await plain.claim(em(), { now: at(0), limit: 10, orDue: `id = '${later}'` })).toEqual([{ id: later }]);
  });

  it('a lease column apart from the due time, a token set by the claim, a join, and renewal by token', async () => {
    const ids = await seed(3);
    await em().execute(`insert into lq_owners (item_id, active) values (?, true), (?, false), (?, true)`, ids);
    const queue = new LeaseQueue({
      ...SPEC,
      from: 'lq_items i join lq_owners o on o.item_id = i.id',
      alias: 'i',
      leaseColumn: 'lease_expires_at',
      ready: `i.status = 'QUEUED' and o.active`,
      claimSet: `status = 'PROCESSING'`,
      returning: 'id, lease_token',
    });
    const claimed = await queue.claim(em(), { now: at(0), limit: 10, set: 'lease_token = ?', setParams: ['tok-1'] });
    expect(claimed.sort((x, y) => x.id.localeCompare(y.id))).toEqual([{ id: ids[0], lease_token: 'tok-1' }, { id: ids[2], lease_token: 'tok-1' }]);
    expect(await item(ids[0]!)).toMatchObject({ next_attempt_at: T0, lease_expires_at: at(LEASE), lease_token: 'tok-1' });
    expect(await queue.renew(em(), ids[0]!, at(5_000), { where: 'lease_token = ?', params: ['tok-1'] })).toEqual(at(5_000 + LEASE));
    expect(await queue.renew(em(), ids[0]!, at(5_000), { where: 'lease_token = ?', params: ['tok-2'] })).toBeNull();
    expect((await item(ids[0]!)).lease_expires_at).toEqual(at(5_000 + LEASE));
  });
});
