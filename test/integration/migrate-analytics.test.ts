import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AnalyticsBucket } from '../../src/analytics/analytics-buckets';
import { AnalyticsService } from '../../src/analytics/analytics.service';
import { openAppOrm } from '../../src/app/entities';
import { emptyDatabase, migrationBefore, withMigrator } from '../support/migration-db';

/**
 * The analytics migration on a database built at the migration before it, holding a month of
 * payments, refunds, subscriptions and deliveries: the rollups it creates count what was already
 * there, and the triggers it adds count what happens after.
 */
const MINE = 'Migration20261203061928_analytics';
const BEFORE = migrationBefore(MINE);


async function migrate(url: string, options?: { to?: string; down?: boolean }): Promise<void> {
  await withMigrator(url, async (migrator) => {
    if (options?.down) await migrator.down({ to: options.to! });
    else await migrator.up(options?.to ? { to: options.to } : undefined);
  });
}

const ids = { b1: randomUUID(), b2: randomUUID(), plan: randomUUID(), plan2: randomUUID(), c1: randomUUID(), c2: randomUUID(), c3: randomUUID() };
const P = { first: randomUUID(), second: randomUUID(), unpaid: randomUUID(), renewal: randomUUID(), late: randomUUID() };

/**
 * November 2026. c1: a first purchase on the 1st (1000 refunded by us on the 3rd), a second bundle
 * on the 2nd (refunded in full from Stripe's dashboard on the 4th), a renewal on the 5th. c2: a
 * checkout left unpaid. c3: a checkout started on the 1st and paid on the 2nd.
 */
async function seed(db: Client): Promise<void> {
  await db.query(`insert into bundles (id, name) values ($1, 'B1'), ($2, 'B2')`, [ids.b1, ids.b2]);
  await db.query(`insert into plans (id, bundle_id, name, amount_minor, currency, duration_days) values ($1, $2, 'P', 2500, 'usd', 30), ($3, $4, 'P2', 4000, 'usd', 30)`, [ids.plan, ids.b1, ids.plan2, ids.b2]);
  await db.query(`insert into customers (id, name) values ($1, 'One'), ($2, 'Two'), ($3, 'Three')`, [ids.c1, ids.c2, ids.c3]);
  const payment = (id: string, customer: string, plan: string, bundle: string, amount: number, kind: string, status: string, created: string, succeeded: string | null, refunded = 0, refundedAt: string | null = null) =>
    db.query(
      `insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, kind, status, created_at, updated_at, succeeded_at, paid_at, refunded_minor, refunded_at)
       values ($1, $2, $3, $4, $5, 'usd', $6, $7, $8, $8, $9, $9, $10, $11)`,
      [id, customer, plan, bundle, amount, kind, status, created, succeeded, refunded, refundedAt],
    );
  await payment(P.first, ids.c1, ids.plan, ids.b1, 2500, 'CHECKOUT', 'SUCCEEDED', '2026-11-01T10:00:00Z', '2026-11-01T10:05:00Z', 1000);
  await payment(P.second, ids.c1, ids.plan2, ids.b2, 4000, 'CHECKOUT', 'REFUNDED', '2026-11-02T09:00:00Z', '2026-11-02T09:01:00Z', 4000, '2026-11-04T08:00:00Z');
  await payment(P.unpaid, ids.c2, ids.plan, ids.b1, 2500, 'CHECKOUT', 'EXPIRED', '2026-11-02T11:00:00Z', null);
  await payment(P.renewal, ids.c1, ids.plan, ids.b1, 2500, 'RENEWAL', 'SUCCEEDED', '2026-11-05T00:30:00Z', '2026-11-05T00:31:00Z');
  await payment(P.late, ids.c3, ids.plan, ids.b1, 2500, 'CHECKOUT', 'SUCCEEDED', '2026-11-01T23:50:00Z', '2026-11-02T00:10:00Z');
  await db.query(
    `insert into refunds (id, payment_id, amount_minor, currency, reason, status, requested_by, completed_at, created_at, updated_at)
     values ($1, $2, 1000, 'usd', 'goodwill', 'SUCCEEDED', 'operator:olga', '2026-11-03T12:00:00Z', '2026-11-03T11:59:00Z', '2026-11-03T12:00:00Z'),
            ($3, $2, 500, 'usd', 'asked twice', 'FAILED', 'operator:olga', '2026-11-03T13:00:00Z', '2026-11-03T13:00:00Z', '2026-11-03T13:00:00Z')`,
    [randomUUID(), P.first, randomUUID()],
  );
  const subscription = (customer: string, status: string, start: string, lapsed: string | null, test = false) =>
    db.query(
      `insert into subscriptions (id, customer_id, bundle_id, status, current_period_start, current_period_end, lapsed_at, is_test, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $5::timestamptz + interval '30 days', $6, $7, $5, coalesce($6, $5))`,
      [randomUUID(), customer, ids.b1, status, start, lapsed, test],
    );
  await subscription(ids.c1, 'ACTIVE', '2026-11-01T10:05:00Z', null);
  await subscription(ids.c3, 'LAPSED', '2026-11-02T00:10:00Z', '2026-11-20T03:00:00Z');
  await subscription(ids.c2, 'ACTIVE', '2026-11-02T11:00:00Z', null, true);
  await db.query(
    `insert into deliveries (payment_id, status, attempts, recovered, paid_at, delivered_at, created_at, updated_at) values
       ($1, 'DELIVERED', 1, false, '2026-11-01T10:05:00Z', '2026-11-01T10:05:03Z', '2026-11-01T10:05:00Z', '2026-11-01T10:05:03Z'),
       ($2, 'DELIVERED', 3, true, '2026-11-02T00:10:00Z', '2026-11-02T00:21:40Z', '2026-11-02T00:10:00Z', '2026-11-02T00:21:40Z'),
       ($3, 'FAILED', 1, false, '2026-11-02T09:01:00Z', null, '2026-11-02T09:01:00Z', '2026-11-02T12:00:00Z')`,
    [P.first, P.late, P.second],
  );
}

const november = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };

describe(`migration ${MINE}`, () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: Client;
  beforeEach(async () => {
    database = await emptyDatabase();
    await migrate(database.url, { to: BEFORE });
    db = new Client({ connectionString: database.url });
    await db.connect();
  });
  afterEach(async () => {
    await db?.end();
    await database?.drop();
  });

  async function series() {
    const orm = await openAppOrm(database.url, 2);
    try {
      const analytics = new AnalyticsService();
      const revenue = await analytics.revenueSeries(orm.em.fork(), { ...november, bucket: AnalyticsBucket.DAY, currency: 'usd' });
      const deliveries = await analytics.deliverySeries(orm.em.fork(), { ...november, bucket: AnalyticsBucket.DAY });
      const on = <T extends { bucketStart: Date }>(points: T[], day: number) => points.find((p) => p.bucketStart.getUTCDate() === day)!;
      return { revenue, deliveries, on };
    } finally {
      await orm.close(true);
    }
  }

  it('backfills the rollups from the payments, refunds, subscriptions and deliveries already there', async () => {
    await seed(db);
    await migrate(database.url);
    const { revenue, deliveries, on } = await series();

    expect(revenue).toHaveLength(30);
    const money = (day: number) => {
      const p = on(revenue, day);
      return { gross: p.grossMinor, refunded: p.refundedMinor, net: p.netMinor, payments: p.payments, first: p.firstPurchases, renewals: p.renewals, started: p.checkoutsStarted, succeeded: p.checkoutsSucceeded, active: p.activeSubscriptions, churned: p.churned };
    };
    expect(money(1)).toEqual({ gross: 2500, refunded: 0, net: 2500, payments: 1, first: 1, renewals: 0, started: 2, succeeded: 2, active: 1, churned: 0 });
    expect(money(2)).toEqual({ gross: 6500, refunded: 0, net: 6500, payments: 2, first: 1, renewals: 0, started: 2, succeeded: 1, active: 2, churned: 0 });
    // Our refund on the day it completed (the failed one not at all); Stripe's on the day of the full refund.
    expect(money(3)).toMatchObject({ refunded: 1000, net: -1000, payments: 0 });
    expect(money(4)).toMatchObject({ refunded: 4000, net: -4000 });
    expect(money(5)).toMatchObject({ gross: 2500, payments: 1, first: 0, renewals: 1, started: 0 });
    expect(money(20)).toMatchObject({ churned: 1, active: 1 });
    expect(on(revenue, 2).checkoutSuccessRate).toBe(0.5);
    expect(on(revenue, 6).checkoutSuccessRate).toBeNull();
    expect(revenue.at(-1)!.activeSubscriptions).toBe(1);

    expect(on(deliveries, 1)).toMatchObject({ delivered: 1, recovered: 0, failed: 0, avgSeconds: 3 });
    expect(on(deliveries, 1).p95Seconds).toBeGreaterThan(2);
    expect(on(deliveries, 1).p95Seconds).toBeLessThanOrEqual(5);
    expect(on(deliveries, 2)).toMatchObject({ delivered: 1, recovered: 1, failed: 1, avgSeconds: 700 });
    expect(deliveries.reduce((n, p) => n + p.delivered, 0)).toBe(2);
  });

  it('keeps counting after it: a late success, a lapse and a delivery, each on its own day; a won dispute not twice; a failed refund taken off', async () => {
    await seed(db);
    await migrate(database.url);
    await db.query(`update payments set status = 'SUCCEEDED', succeeded_at = '2026-11-10T10:00:00Z', paid_at = '2026-11-10T10:00:00Z' where id = $1`, [P.unpaid]);
    await db.query(`update subscriptions set status = 'LAPSED', lapsed_at = '2026-11-25T00:00:00Z' where customer_id = $1 and not is_test`, [ids.c1]);
    await db.query(`insert into deliveries (payment_id, status, attempts, paid_at, delivered_at, updated_at) values ($1, 'DELIVERED', 1, '2026-11-10T10:00:00Z', '2026-11-10T10:00:40Z', '2026-11-10T10:00:40Z')`, [P.unpaid]);
    // A dispute, then won: the payment is SUCCEEDED again (succeeded_at stamped anew) but was counted once already.
    await db.query(`update payments set status = 'DISPUTED', disputed_at = '2026-11-12T10:00:00Z' where id = $1`, [P.first]);
    await db.query(`update payments set status = 'SUCCEEDED', succeeded_at = '2026-11-14T10:00:00Z' where id = $1`, [P.first]);
    // A refund the bank sent back: the refunded total drops again, on the day that was recorded.
    await db.query(`update payments set refunded_minor = 0 where id = $1`, [P.first]);
    const { revenue, deliveries, on } = await series();
    expect(on(revenue, 10)).toMatchObject({ grossMinor: 2500, payments: 1, firstPurchases: 1 });
    expect(on(revenue, 2)).toMatchObject({ checkoutsStarted: 2, checkoutsSucceeded: 2, checkoutSuccessRate: 1 });
    expect(on(revenue, 25)).toMatchObject({ churned: 1, activeSubscriptions: 0 });
    expect(on(deliveries, 10)).toMatchObject({ delivered: 1, avgSeconds: 40 });
    expect([on(revenue, 1).grossMinor, on(revenue, 14).grossMinor, on(revenue, 14).payments]).toEqual([2500, 0, 0]);
    const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const orm = await openAppOrm(database.url, 2);
    try {
      const [now] = await new AnalyticsService().revenueSeries(orm.em.fork(), { from: today, to: new Date(today.getTime() + 86_400_000), bucket: AnalyticsBucket.DAY, currency: 'usd' });
      expect(now).toMatchObject({ refundedMinor: -1000, netMinor: 1000 });
    } finally {
      await orm.close(true);
    }
  });

  it('rolls back and forward again to the same rollups', async () => {
    await seed(db);
    await migrate(database.url);
    const before = await series();
    await migrate(database.url, { down: true, to: BEFORE });
    expect((await db.query(`select to_regclass('analytics_daily') as t`)).rows).toEqual([{ t: null }]);
    await migrate(database.url);
    const after = await series();
    expect(after.revenue).toEqual(before.revenue);
    expect(after.deliveries).toEqual(before.deliveries);
  });
});
