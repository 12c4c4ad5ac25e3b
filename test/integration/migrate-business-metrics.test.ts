import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { PAYMENT_COUNTS_SQL } from '../../src/payments/payment-counts';
import { emptyDatabase, migrationBefore, withMigrator } from '../support/migration-db';

/**
 * The business-metrics migration on a database built at the migration before it: payment_counters
 * is seeded from the payments there and its triggers keep it equal to a recount through every kind
 * of write; owed deliveries get owed_since, and its trigger moves it as deliveries come and go from
 * owed; down() takes it all away again.
 */
const MINE = 'Migration20261203060500_business_metrics';
const BEFORE = migrationBefore(MINE);


const migrator = withMigrator;

const RECOUNT_SQL = `select status, count(*)::float8 as n from payments group by status`;
const asMap = (rows: Array<{ status: string; n: number | string }>) => Object.fromEntries(rows.filter((r) => Number(r.n) !== 0).map((r) => [r.status, Number(r.n)]));

const CREATED = '2026-11-30T10:00:00.000Z';
const LATER = '2026-12-01T08:30:00.000Z';

interface Seeded {
  bundle: string;
  plan: string;
  payments: Array<{ id: string; status: string; delivery: string | null }>;
}

/** One payment per status (and a second SUCCEEDED), each with its own customer; deliveries in every status. */
async function seed(db: Client): Promise<Seeded> {
  const bundle = randomUUID();
  const plan = randomUUID();
  await db.query(`insert into bundles (id, name) values ($1, 'B')`, [bundle]);
  await db.query(`insert into plans (id, bundle_id, name, amount_minor, currency, duration_days) values ($1, $2, 'P', 2500, 'usd', 30)`, [plan, bundle]);
  const specs: Array<[string, string | null]> = [
    ['PENDING', null], ['FAILED', null], ['EXPIRED', null], ['CANCELLED', null], ['AUTHORIZED', 'AWAITING_CUSTOMER'],
    ['SUCCEEDED', 'PENDING'], ['SUCCEEDED', 'IN_PROGRESS'], ['SUCCEEDED', 'DELIVERED'], ['DISPUTED', 'DELIVERED'], ['REFUNDED', 'FAILED'],
  ];
  const payments: Seeded['payments'] = [];
  for (const [status, delivery] of specs) {
    const id = randomUUID();
    const customer = randomUUID();
    await db.query(`insert into customers (id, name) values ($1, 'C')`, [customer]);
    await insertPayment(db, { id, customer, plan, bundle, status });
    if (delivery) {
      await db.query(`insert into deliveries (payment_id, status, created_at, updated_at) values ($1, $2, $3, $4)`, [id, delivery, CREATED, LATER]);
    }
    payments.push({ id, status, delivery });
  }
  return { bundle, plan, payments };
}

async function insertPayment(db: Client, p: { id: string; customer: string; plan: string; bundle: string; status: string }): Promise<void> {
  await db.query(`insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status) values ($1, $2, $3, $4, 2500, 'usd', $5)`, [p.id, p.customer, p.plan, p.bundle, p.status]);
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

describe(`migration ${MINE}`, () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: Client;
  beforeEach(async () => {
    database = await emptyDatabase();
    await migrator(database.url, (m) => m.up({ to: BEFORE }));
    db = new Client({ connectionString: database.url });
    await db.connect();
  });
  afterEach(async () => {
    await db?.end();
    await database?.drop();
  });

  const counters = async () => asMap((await db.query(PAYMENT_COUNTS_SQL)).rows);
  const recount = async () => asMap((await db.query(RECOUNT_SQL)).rows);
  const owedSince = async () => Object.fromEntries((await db.query(`select payment_id, status, owed_since from deliveries`)).rows.map((r) => [r.payment_id, iso(r.owed_since)]));

  it('seeds payment_counters from the payments there and owed_since on the owed deliveries only', async () => {
    const seeded = await seed(db);
    await migrator(database.url, (m) => m.up());

    expect(await counters()).toEqual({ PENDING: 1, FAILED: 1, EXPIRED: 1, CANCELLED: 1, AUTHORIZED: 1, SUCCEEDED: 3, DISPUTED: 1, REFUNDED: 1 });
    expect(await counters()).toEqual(await recount());
    const since = await owedSince();
    for (const p of seeded.payments.filter((x) => x.delivery)) {
      // Owed rows: their creation, the earliest they can have become owed; the others owe nothing.
      expect({ status: p.delivery, since: since[p.id] }).toEqual({ status: p.delivery, since: ['PENDING', 'IN_PROGRESS'].includes(p.delivery!) ? CREATED : null });
    }
    const { rows: indexes } = await db.query(`select indexname from pg_indexes where indexname in ('deliveries_owed_since', 'reconciliation_findings_alert')`);
    expect(indexes.map((i) => i.indexname).sort()).toEqual(['deliveries_owed_since', 'reconciliation_findings_alert']);
  });

  it('keeps payment_counters equal to a recount through inserts, updates, deletes and truncate', async () => {
    const seeded = await seed(db);
    await migrator(database.url, (m) => m.up());
    const customer = randomUUID();
    await db.query(`insert into customers (id, name) values ($1, 'D')`, [customer]);

    // One statement, several rows and statuses (as the inbox's batch writes them).
    await db.query(`insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status)
      select gen_random_uuid(), $1, $2, $3, 100, 'usd', s from unnest(array['SUCCEEDED', 'SUCCEEDED', 'REFUNDED', 'EXPIRED']) s`, [customer, seeded.plan, seeded.bundle]);
    expect(await counters()).toEqual(await recount());
    await db.query(`update payments set status = 'SUCCEEDED' where status in ('PENDING', 'FAILED')`);
    await db.query(`update payments set status = 'REFUNDED' where status = 'DISPUTED'`);
    expect(await counters()).toEqual(await recount());
    expect((await counters()).PENDING).toBeUndefined();

    // A statement that changes no status writes no counter row.
    const rowsBefore = (await db.query(`select shard, status, n from payment_counters order by shard, status`)).rows;
    await db.query(`update payments set updated_at = now(), amount_minor = amount_minor + 1`);
    await db.query(`update payments set status = status`);
    expect((await db.query(`select shard, status, n from payment_counters order by shard, status`)).rows).toEqual(rowsBefore);

    // In a transaction that is rolled back, nothing moves.
    await db.query('begin');
    await db.query(`update payments set status = 'CANCELLED' where status = 'EXPIRED'`);
    await db.query('rollback');
    expect(await counters()).toEqual(await recount());

    await db.query(`delete from payments where status = 'EXPIRED'`);
    expect(await counters()).toEqual(await recount());
    await db.query(`truncate payments cascade`);
    expect(await counters()).toEqual({});
  });

  it('moves owed_since as a delivery becomes owed, stays owed, and stops being owed', async () => {
    const seeded = await seed(db);
    await migrator(database.url, (m) => m.up());
    const [pending, inProgress, delivered] = ['PENDING', 'IN_PROGRESS', 'DELIVERED'].map((s) => seeded.payments.find((p) => p.delivery === s)!.id);
    const since = async (id: string) => (await owedSince())[id];

    // A claim (PENDING -> IN_PROGRESS) and a retry (back to PENDING) keep it: the delivery is owed throughout.
    await db.query(`update deliveries set status = 'IN_PROGRESS', next_attempt_at = now(), updated_at = '2026-12-02T00:00:00Z' where payment_id = $1`, [pending]);
    await db.query(`update deliveries set status = 'PENDING', attempts = attempts + 1, updated_at = '2026-12-02T00:01:00Z' where payment_id = $1`, [pending]);
    expect(await since(pending)).toBe(CREATED);
    // Delivered: owes nothing.
    await db.query(`update deliveries set status = 'DELIVERED', delivered_at = now(), updated_at = now() where payment_id = $1`, [inProgress]);
    expect(await since(inProgress)).toBeNull();
    // Reopened (an operator's redeliver, a customer who can now be reached): owed from that write on.
    await db.query(`update deliveries set status = 'PENDING', attempts = 0, updated_at = '2026-12-03T09:00:00Z' where payment_id = $1`, [delivered]);
    expect(await since(delivered)).toBe('2026-12-03T09:00:00.000Z');
    // A writer cannot set it by hand while the delivery is not owed.
    await db.query(`update deliveries set status = 'FAILED', owed_since = now() where payment_id = $1`, [delivered]);
    expect(await since(delivered)).toBeNull();

    // Inserted owed: from its creation.
    const customer = randomUUID();
    const id = randomUUID();
    await db.query(`insert into customers (id, name) values ($1, 'E')`, [customer]);
    await insertPayment(db, { id, customer, plan: seeded.plan, bundle: seeded.bundle, status: 'SUCCEEDED' });
    await db.query(`insert into deliveries (payment_id, status, created_at, updated_at) values ($1, 'PENDING', '2026-12-04T12:00:00Z', '2026-12-04T12:00:00Z')`, [id]);
    expect(await since(id)).toBe('2026-12-04T12:00:00.000Z');
  });

  it('is taken back by down(): the table, the triggers, the column and the indexes go', async () => {
    await seed(db);
    await migrator(database.url, (m) => m.up());
    await migrator(database.url, (m) => m.down({ to: MINE }));
    const { rows } = await db.query(`select to_regclass('payment_counters') as t, to_regclass('deliveries_owed_since') as i, to_regclass('reconciliation_findings_alert') as f,
      (select count(*)::int from pg_trigger where tgname like 'payments_count%' or tgname = 'deliveries_owed_since') as triggers,
      (select count(*)::int from information_schema.columns where table_name = 'deliveries' and column_name = 'owed_since') as columns`);
    expect(rows).toEqual([{ t: null, i: null, f: null, triggers: 0, columns: 0 }]);
    // And up again, on the same rows.
    await migrator(database.url, (m) => m.up());
    expect(await counters()).toEqual(await recount());
  });
});
