import { Pool } from 'pg';
import { must, seedCatalog } from '../support/fixtures';
import { collect, eventually, startHarness, type Harness } from '../support/harness';
import { Topic } from '../../src/platform/shared/topics';

type Catalog = Awaited<ReturnType<typeof seedCatalog>>;

interface Row {
  status?: string;
  delivery?: string | null;
  attempts?: number;
  recovered?: boolean;
  /** Seconds from paid_at to delivered_at (DELIVERED rows). */
  tookS?: number;
  dueInS?: number;
  customer?: { name?: string; email?: string; phone?: string; telegramUserId?: string | null };
}

let chats = 910000000;

/** One customer and payment per row, by SQL: the API under test only reads and repairs them. */
async function seed(pool: Pool, cat: Catalog, rows: Row[]): Promise<string[]> {
  const ids: string[] = [];
  for (const r of rows) {
    const c = r.customer ?? {};
    const { rows: [row] } = await pool.query<{ id: string }>(
      `with c as (insert into customers (id, name, email, phone, telegram_user_id) values (gen_random_uuid(), $1, $2, $3, $4) returning id)
          , p as (insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, paid_at, succeeded_at)
                  select gen_random_uuid(), c.id, $5, $6, 2500, 'usd', $7, now() - interval '1 hour', now() - interval '1 hour' from c returning id, paid_at)
          , d as (insert into deliveries (payment_id, status, attempts, recovered, delivered_at, next_attempt_at, failure_reason, paid_at)
                  select p.id, $8, $9, $10,
                         case when $8 = 'DELIVERED' then p.paid_at + make_interval(secs => $11) end,
                         case when $8 in ('PENDING', 'IN_PROGRESS') then now() + make_interval(secs => $12) end,
                         case when $8 = 'FAILED' then 'Forbidden: bot was blocked by the user' end, p.paid_at
                    from p where $8::text is not null)
       select id from p`,
      [c.name ?? 'Sam Seed', c.email ?? null, c.phone ?? null, c.telegramUserId === undefined ? String(chats++) : c.telegramUserId,
        cat.planId, cat.bundleId, r.status ?? 'SUCCEEDED', r.delivery === undefined ? 'FAILED' : r.delivery, r.attempts ?? 0, r.recovered ?? false, r.tookS ?? 1, r.dueInS ?? -1],
    );
    ids.push(row.id);
  }
  return ids;
}

const STATS = `successfulPayments delivered failedDeliveries awaitingCustomer pendingDeliveries recovered deliverySuccessRate recoverySuccessRate avgSecondsToDelivery p95SecondsToDelivery computedAt`;
const RECOVER = `mutation($id: ID!) { recoverPayment(paymentId: $id) { paymentId status attempts reason } }`;
const RECOVER_MANY = `mutation($ids: [ID!]!) { recoverPayments(paymentIds: $ids) { paymentId ok status errorCode message } }`;
const SWEEP = `mutation { processFailedDeliveries { claimed delivered } }`;

describe('delivery GraphQL API', () => {
  let h: Harness;
  let pool: Pool;
  let cat: Catalog;
  beforeAll(async () => {
    h = await startHarness();
    pool = new Pool({ connectionString: h.database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
    cat = await seedCatalog(h);
  });

  const operator = () => ({ token: h.tokens.operator });
  const viewer = () => ({ token: h.tokens.viewer });
  const codeOf = (result: { errors?: Array<{ extensions?: Record<string, any> }> }) => result.errors?.[0]?.extensions?.code;

  it('computes recoveryStats in one query, percentile included', async () => {
    await seed(pool, cat, [
      { delivery: 'DELIVERED', tookS: 1 },
      { delivery: 'DELIVERED', tookS: 2 },
      { delivery: 'DELIVERED', tookS: 3, recovered: true },
      { delivery: 'DELIVERED', tookS: 10, recovered: true },
      { delivery: 'FAILED' },
      { delivery: 'AWAITING_CUSTOMER' },
      { delivery: 'PENDING', dueInS: 60 },
      { delivery: null, status: 'PENDING' },
    ]);
    const { recoveryStats } = must(await h.gql(`{ recoveryStats { ${STATS} } }`, {}, viewer()));
    expect(recoveryStats).toMatchObject({
      successfulPayments: 7, delivered: 4, failedDeliveries: 1, awaitingCustomer: 1, pendingDeliveries: 1, recovered: 2,
      deliverySuccessRate: 4 / 7, recoverySuccessRate: 2 / 3, avgSecondsToDelivery: 4,
    });
    // From the seconds-to-delivery buckets (…, ≤5, ≤10, …): rank 0.95 × 4 = 3.8 falls in (5, 10],
    // which holds one delivery, so 5 + 0.8 × (10 - 5). (An exact percentile_cont would say 8.95.)
    expect(recoveryStats.p95SecondsToDelivery).toBeCloseTo(9, 5);
  });

  it('lists failed deliveries by status and searches customer name, email, phone and Telegram id', async () => {
    const [failed] = await seed(pool, cat, [{ customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+441234', telegramUserId: '555001' } }]);
    const [waiting] = await seed(pool, cat, [{ delivery: 'AWAITING_CUSTOMER', customer: { name: 'Bob 100%', telegramUserId: null } }]);
    await seed(pool, cat, [{ delivery: 'DELIVERED' }, { customer: { name: 'Cy Other' } }]);
    const list = async (filter: Record<string, unknown> | null, first = 10) =>
      must(await h.gql(`query($f: FailedDeliveriesFilter, $n: Int) { failedDeliveries(filter: $f, first: $n) { totalCount edges { node { id deliveryStatus } } } }`, { f: filter, n: first }, viewer())).failedDeliveries;

    expect((await list(null)).totalCount).toBe(2);
    for (const search of ['lovelace', 'ADA@EXAMPLE', '441234', '555001']) {
      expect((await list({ search })).edges.map((e: any) => e.node.id)).toEqual([failed]);
    }
    expect((await list({ status: 'AWAITING_CUSTOMER' })).edges).toEqual([{ node: { id: waiting, deliveryStatus: 'AWAITING_CUSTOMER' } }]);
    expect((await list({ status: 'AWAITING_CUSTOMER', search: '100%' })).totalCount).toBe(1);
    expect((await list({ search: '%' })).totalCount).toBe(0); // a wildcard is a character, not "everything"
    const page = await list(null, 1);
    expect(page.edges).toHaveLength(1);
  });

  it('recoverPayment resets the budget, delivers now and audits who did it', async () => {
    const [id] = await seed(pool, cat, [{ delivery: 'FAILED', attempts: 5 }]);
    const { recoverPayment } = must(await h.gql(RECOVER, { id }, operator()));
    expect(recoverPayment).toEqual({ paymentId: id, status: 'DELIVERED', attempts: 1, reason: null });
    const { payment } = must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryRecovered deliveryFailureReason } }`, { id }));
    expect(payment).toEqual({ deliveryRecovered: true, deliveryFailureReason: null });
    const { rows } = await pool.query(`select actor, before, after from audit_entries where action = 'delivery.recover' and subject_id = $1`, [id]);
    expect(rows).toEqual([{ actor: 'operator:olga-operator', before: expect.objectContaining({ deliveryStatus: 'FAILED', deliveryAttempts: 5 }), after: { deliveryStatus: 'PENDING', deliveryAttempts: 0 } }]);
  });

  it('recoverPayment answers NOT_FOUND and CONFLICT with codes', async () => {
    const [delivered, unpaid] = await seed(pool, cat, [{ delivery: 'DELIVERED' }, { delivery: null, status: 'PENDING' }]);
    expect(codeOf(await h.gql(RECOVER, { id: '00000000-0000-4000-8000-000000000000' }, operator()))).toBe('NOT_FOUND');
    expect(codeOf(await h.gql(RECOVER, { id: 'not-an-id' }, operator()))).toBe('NOT_FOUND');
    expect(codeOf(await h.gql(RECOVER, { id: delivered }, operator()))).toBe('CONFLICT');
    expect(codeOf(await h.gql(RECOVER, { id: unpaid }, operator()))).toBe('CONFLICT');
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);
  });

  it('recoverPayments answers one result per id, errors as data', async () => {
    const [failed, delivered, failedToo] = await seed(pool, cat, [{ delivery: 'FAILED' }, { delivery: 'DELIVERED' }, { delivery: 'AWAITING_CUSTOMER' }]);
    const unknown = '00000000-0000-4000-8000-000000000001';
    const { recoverPayments } = must(await h.gql(RECOVER_MANY, { ids: [unknown, delivered, failed, failedToo, failed] }, operator()));
    expect(recoverPayments).toEqual([
      { paymentId: unknown, ok: false, status: null, errorCode: 'NOT_FOUND', message: expect.any(String) },
      { paymentId: delivered, ok: false, status: null, errorCode: 'CONFLICT', message: expect.stringContaining('already delivered') },
      { paymentId: failed, ok: true, status: 'DELIVERED', errorCode: null, message: null },
      { paymentId: failedToo, ok: true, status: 'DELIVERED', errorCode: null, message: null },
    ]);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(2);
    const tooMany = Array.from({ length: 101 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect(codeOf(await h.gql(RECOVER_MANY, { ids: tooMany }, operator()))).toBe('BAD_USER_INPUT');
  });

  it('needs OPERATOR for the recovery mutations; VIEWER may read', async () => {
    const [id] = await seed(pool, cat, [{ delivery: 'FAILED' }]);
    expect(codeOf(await h.gql(RECOVER, { id }, viewer()))).toBe('FORBIDDEN');
    expect(codeOf(await h.gql(RECOVER_MANY, { ids: [id] }, viewer()))).toBe('FORBIDDEN');
    expect(codeOf(await h.gql(SWEEP, {}, viewer()))).toBe('FORBIDDEN');
    expect(codeOf(await h.gql(`{ recoveryStats { delivered } }`, {}, { token: null }))).toBe('UNAUTHENTICATED');
    must(await h.gql(`{ recoveryStats { delivered } failedDeliveries { totalCount } }`, {}, viewer()));
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);
  });

  it('reports the Telegram bot in systemHealth', async () => {
    const HEALTH = `{ systemHealth { telegram { ok latencyMs error botUsername } } }`;
    expect(must(await h.gql(HEALTH, {}, viewer())).systemHealth.telegram).toMatchObject({ ok: true, error: null, botUsername: 'recoup_sandbox_bot' });
    h.telegram.failNext('getMe', { errorCode: 401, description: 'Unauthorized' });
    expect(must(await h.gql(HEALTH, {}, viewer())).systemHealth.telegram).toMatchObject({ ok: false, error: expect.stringContaining('Unauthorized'), botUsername: null });
  });

  it('publishes deliveryStatusChanged for one payment', async () => {
    const [id, other] = await seed(pool, cat, [{ delivery: 'PENDING' }, { delivery: 'PENDING' }]);
    const sub = collect(h.wsClient({ token: h.tokens.viewer }), `subscription($id: ID) { deliveryStatusChanged(paymentId: $id) { paymentId from to attempts recovered reason payment { deliveryStatus } } }`, { id });
    // Probes prove the subscription is registered before the real events.
    await eventually(async () => {
      h.app.services.pubsub.publish(Topic.DELIVERY_STATUS_CHANGED, { paymentId: id, customerId: id, from: null, to: 'PENDING', attempts: 0, reason: 'probe', recovered: false, at: new Date() });
      return sub.events.length > 0;
    }, 5000, 50);
    must(await h.gql(SWEEP, {}, operator()));

    const real = () => sub.events.map((e) => e.deliveryStatusChanged).filter((e) => e.reason !== 'probe');
    await eventually(async () => real().length >= 1);
    expect(real()).toEqual([{ paymentId: id, from: 'IN_PROGRESS', to: 'DELIVERED', attempts: 1, recovered: true, reason: null, payment: { deliveryStatus: 'DELIVERED' } }]);
    expect(real().some((e) => e.paymentId === other)).toBe(false);
  });

  it('pushes recoveryStatsUpdated at most once a second: a burst of 20 deliveries makes ≤ 3 events, the last with all 20', async () => {
    await seed(pool, cat, Array.from({ length: 20 }, () => ({ delivery: 'PENDING' })));
    const sub = collect(h.wsClient({ token: h.tokens.viewer }), `subscription { recoveryStatsUpdated { delivered pendingDeliveries computedAt } }`);
    const probe = { ...(await h.app.services.recoveryStats.compute()), computedAt: new Date(0) };
    await eventually(async () => {
      h.app.services.pubsub.publish(Topic.RECOVERY_STATS_UPDATED, probe);
      return sub.events.length > 0;
    }, 5000, 50);
    const arrivals: number[] = [];
    const seen = new Set<unknown>();
    const stats = () => sub.events.map((e) => e.recoveryStatsUpdated).filter((s) => !s.computedAt.startsWith('1970'));
    const tick = setInterval(() => stats().forEach((s) => !seen.has(s) && (seen.add(s), arrivals.push(Date.now()))), 5);

    const started = Date.now();
    expect(must(await h.gql(SWEEP, {}, operator())).processFailedDeliveries.delivered).toBe(20);
    await eventually(async () => stats().at(-1)?.delivered === 20, 3000);
    clearInterval(tick);
    expect(arrivals.filter((t) => t - started <= 1500).length).toBeLessThanOrEqual(3);
    expect(stats().length).toBeLessThanOrEqual(3);
    expect(stats().at(-1)).toMatchObject({ delivered: 20, pendingDeliveries: 0 });
  });
});
