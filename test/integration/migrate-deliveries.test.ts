import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { emptyDatabase, migrationBefore, withMigrator } from '../support/migration-db';
import { COUNTERS_SQL, normalised, RECOUNT_SQL } from '../support/delivery-recount';

/**
 * The deliveries migration on a database built at the migration before it, holding payments in
 * every delivery state the payments columns could describe: every row moves, field by field, the
 * counters are seeded from them, and the old columns and indexes are gone. Migrated up to this
 * migration only: what later ones add (an index on deliveries, say) is theirs to test.
 */
const MINE = 'Migration20261202190954_deliveries';
const BEFORE = migrationBefore(MINE);


async function migrate(url: string, to?: string): Promise<void> {
  await withMigrator(url, (migrator) => migrator.up(to ? { to } : undefined));
}

interface OldDelivery {
  label: string;
  paymentStatus?: string;
  delivery_status: string | null;
  delivery_attempts?: number;
  delivery_last_attempt_at?: string | null;
  delivery_next_attempt_at?: string | null;
  delivery_failure_reason?: string | null;
  delivery_recovered?: boolean;
  delivery_email_claimed_at?: string | null;
  delivery_emailed_at?: string | null;
  delivered_at?: string | null;
  paid_at?: string | null;
}

const PAID = '2026-11-30T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(PAID) + seconds * 1000).toISOString();

const STATES: OldDelivery[] = [
  { label: 'never paid', paymentStatus: 'PENDING', delivery_status: null, paid_at: null },
  { label: 'pending', delivery_status: 'PENDING', delivery_next_attempt_at: at(30) },
  { label: 'pending, retrying', delivery_status: 'PENDING', delivery_attempts: 2, delivery_last_attempt_at: at(10), delivery_next_attempt_at: at(40), delivery_failure_reason: 'Bad Gateway' },
  { label: 'in progress', delivery_status: 'IN_PROGRESS', delivery_attempts: 1, delivery_last_attempt_at: at(5), delivery_next_attempt_at: at(35) },
  { label: 'delivered', delivery_status: 'DELIVERED', delivery_attempts: 1, delivery_last_attempt_at: at(3), delivered_at: at(3) },
  { label: 'delivered, recovered', delivery_status: 'DELIVERED', delivery_attempts: 3, delivery_last_attempt_at: at(700), delivered_at: at(700), delivery_recovered: true },
  { label: 'delivered, paid_at unknown', delivery_status: 'DELIVERED', delivery_attempts: 1, delivered_at: at(1), paid_at: null },
  { label: 'failed', delivery_status: 'FAILED', delivery_attempts: 1, delivery_last_attempt_at: at(2), delivery_failure_reason: 'Forbidden: bot was blocked by the user' },
  { label: 'failed, emailed', delivery_status: 'FAILED', delivery_attempts: 1, delivery_last_attempt_at: at(2), delivery_failure_reason: 'Forbidden: bot was blocked by the user', delivery_email_claimed_at: at(400), delivery_emailed_at: at(401) },
  { label: 'awaiting customer', delivery_status: 'AWAITING_CUSTOMER', delivery_attempts: 1, delivery_last_attempt_at: at(4), delivery_failure_reason: 'customer has no Telegram account linked yet' },
  { label: 'awaiting, email claimed', delivery_status: 'AWAITING_CUSTOMER', delivery_attempts: 1, delivery_last_attempt_at: at(4), delivery_failure_reason: 'the customer has not started a chat with the bot', delivery_email_claimed_at: at(900) },
  { label: 'refunded before delivery', paymentStatus: 'REFUNDED', delivery_status: 'FAILED', delivery_failure_reason: 'payment refunded before delivery' },
];

const COLUMNS = ['delivery_status', 'delivery_attempts', 'delivery_last_attempt_at', 'delivery_next_attempt_at', 'delivery_failure_reason', 'delivery_recovered', 'delivery_email_claimed_at', 'delivery_emailed_at', 'delivered_at', 'paid_at'] as const;

async function seed(db: Client, states: OldDelivery[]): Promise<Map<string, OldDelivery>> {
  const bundle = randomUUID();
  const plan = randomUUID();
  const customer = randomUUID();
  await db.query(`insert into bundles (id, name) values ($1, 'B')`, [bundle]);
  await db.query(`insert into plans (id, bundle_id, name, amount_minor, currency, duration_days) values ($1, $2, 'P', 2500, 'usd', 30)`, [plan, bundle]);
  await db.query(`insert into customers (id, name) values ($1, 'Cy')`, [customer]);
  const byId = new Map<string, OldDelivery>();
  for (const state of states) {
    const id = randomUUID();
    const values = COLUMNS.map((c) => (c === 'paid_at' ? (state.paid_at === undefined ? PAID : state.paid_at) : (state[c] ?? (c === 'delivery_attempts' ? 0 : c === 'delivery_recovered' ? false : null))));
    await db.query(
      `insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, ${COLUMNS.join(', ')})
       values ($1, $2, $3, $4, 2500, 'usd', $5, ${COLUMNS.map((_, i) => `$${i + 6}`).join(', ')})`,
      [id, customer, plan, bundle, state.paymentStatus ?? 'SUCCEEDED', ...values],
    );
    byId.set(id, state);
  }
  return byId;
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

describe(`migration ${MINE}`, () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: Client;
  beforeEach(async () => {
    database = await emptyDatabase();
    await migrate(database.url, BEFORE);
    db = new Client({ connectionString: database.url });
    await db.connect();
  });
  afterEach(async () => {
    await db?.end();
    await database?.drop();
  });

  it('moves every delivery state into deliveries, seeds the counters and drops the payments columns', async () => {
    const seeded = await seed(db, STATES);
    await migrate(database.url, MINE);

    const { rows } = await db.query(`select * from deliveries`);
    const owed = [...seeded].filter(([, s]) => s.delivery_status !== null);
    expect(rows).toHaveLength(owed.length);
    for (const [id, s] of owed) {
      const row = rows.find((r) => r.payment_id === id);
      expect({ label: s.label, ...row, last_attempt_at: iso(row.last_attempt_at), next_attempt_at: iso(row.next_attempt_at), email_claimed_at: iso(row.email_claimed_at), emailed_at: iso(row.emailed_at), delivered_at: iso(row.delivered_at), paid_at: iso(row.paid_at) }).toMatchObject({
        label: s.label,
        status: s.delivery_status,
        attempts: s.delivery_attempts ?? 0,
        last_attempt_at: s.delivery_last_attempt_at ?? null,
        next_attempt_at: s.delivery_next_attempt_at ?? null,
        failure_reason: s.delivery_failure_reason ?? null,
        recovered: s.delivery_recovered ?? false,
        email_claimed_at: s.delivery_email_claimed_at ?? null,
        emailed_at: s.delivery_emailed_at ?? null,
        delivered_at: s.delivered_at ?? null,
        paid_at: s.paid_at === undefined ? PAID : s.paid_at,
        access_revoked_at: null,
      });
    }

    const counters = normalised((await db.query(COUNTERS_SQL)).rows);
    expect(counters).toEqual(normalised((await db.query(RECOUNT_SQL)).rows));
    const n = Object.fromEntries(counters.map((c) => [c.key, c]));
    expect({ successful: n.successful.n, delivered: n.delivered.n, failed: n.failed.n, awaiting: n.awaiting.n, pending: n.pending.n, recovered: n.recovered.n }).toEqual({
      successful: 11, delivered: 3, failed: 3, awaiting: 2, pending: 3, recovered: 1,
    });
    // 3 s and 700 s; the delivery without paid_at has no time.
    expect(n.timed).toEqual({ key: 'timed', n: 2, seconds: 703 });
    expect([n.le_5?.n, n.le_1800?.n]).toEqual([1, 1]);

    const { rows: left } = await db.query(`select column_name from information_schema.columns where table_name = 'payments' and (column_name like 'delivery%' or column_name = 'delivered_at')`);
    expect(left).toEqual([]);
    const { rows: indexes } = await db.query(`select indexname, indexdef from pg_indexes where tablename in ('payments', 'deliveries') and indexname like any (array['payments_delivery%', 'payments_capture_due', 'deliveries_%']) and indexname <> 'deliveries_pkey'`);
    expect(indexes.map((i) => i.indexname).sort()).toEqual(['deliveries_attention', 'deliveries_due', 'payments_capture_due']);
    expect(indexes.find((i) => i.indexname === 'payments_capture_due').indexdef).not.toContain('delivery');
  });

  it('keeps the counters equal to a recount through later changes', async () => {
    await seed(db, STATES);
    await migrate(database.url, MINE);
    await db.query(`update deliveries set status = 'DELIVERED', delivered_at = paid_at + interval '20 seconds', recovered = true where status = 'AWAITING_CUSTOMER'`);
    await db.query(`update deliveries set status = 'IN_PROGRESS', next_attempt_at = now() where status = 'PENDING'`);
    await db.query(`delete from deliveries where status = 'FAILED' and failure_reason like 'payment refunded%'`);
    expect(normalised((await db.query(COUNTERS_SQL)).rows)).toEqual(normalised((await db.query(RECOUNT_SQL)).rows));
    await db.query(`truncate deliveries`);
    expect((await db.query(COUNTERS_SQL)).rows).toEqual([]);
  });

  it('refuses, changing nothing, when a payment has delivery data but no delivery status', async () => {
    await seed(db, [{ label: 'attempted, no status', delivery_status: null, delivery_attempts: 2 }]);
    await expect(migrate(database.url, MINE)).rejects.toThrow(/delivery data but no delivery_status/);
    const { rows } = await db.query(`select delivery_attempts from payments`);
    expect(rows).toEqual([{ delivery_attempts: 2 }]);
    expect((await db.query(`select to_regclass('deliveries') as t`)).rows).toEqual([{ t: null }]);
  });
});
