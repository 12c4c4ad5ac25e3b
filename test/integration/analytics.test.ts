import { Pool } from 'pg';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, signToken, startHarness, type Harness } from '../support/harness';

/**
 * revenueSeries and deliverySeries over the real server, fed by the real flows (checkouts paid
 * through the fake Stripe, a refund through refundPayment, deliveries through the fake Telegram):
 * the rollups the triggers keep say what happened, per day, week and month.
 */
const REVENUE = `query($from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!, $currency: String!) {
  revenueSeries(from: $from, to: $to, bucket: $bucket, currency: $currency) {
    bucketStart bucketEnd grossMinor refundedMinor netMinor payments firstPurchases renewals
    checkoutsStarted checkoutsSucceeded checkoutSuccessRate activeSubscriptions churned
  }
}`;
const DELIVERIES = `query($from: DateTime!, $to: DateTime!, $bucket: AnalyticsBucket!) {
  deliverySeries(from: $from, to: $to, bucket: $bucket) { bucketStart bucketEnd delivered recovered failed avgSeconds p95Seconds }
}`;
const REFUND = `mutation($id: ID!, $amount: Int, $reason: String!) { refundPayment(paymentId: $id, amountMinor: $amount, reason: $reason) { payment { status refundedMinor } } }`;

const DAY_MS = 86_400_000;
const midnight = (at: number) => new Date(Math.floor(at / DAY_MS) * DAY_MS);
const monthStart = (at: Date, add = 0) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + add, 1));

type Point = Record<string, number | string | null>;
const SUMMED = ['grossMinor', 'refundedMinor', 'netMinor', 'payments', 'firstPurchases', 'renewals', 'checkoutsStarted', 'checkoutsSucceeded', 'churned'];
const totals = (points: Point[]) => Object.fromEntries(SUMMED.map((k) => [k, points.reduce((sum, p) => sum + Number(p[k]), 0)]));

describe('analytics series', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const revenue = (from: Date, to: Date, bucket: string, auth: { token: string | null } = { token: h.tokens.viewer }) =>
    h.gql<{ revenueSeries: Point[] }>(REVENUE, { from: from.toISOString(), to: to.toISOString(), bucket, currency: 'USD' }, auth);
  const deliveries = (from: Date, to: Date, bucket: string) => h.gql<{ deliverySeries: Point[] }>(DELIVERIES, { from: from.toISOString(), to: to.toISOString(), bucket }, { token: h.tokens.viewer });
  const deliveryStatus = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus } }`, { id })).payment.deliveryStatus as string;

  /** Pays a checkout through the fake Stripe and waits for its delivery. */
  async function pay(customerId: string, planId: string): Promise<string> {
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await paymentStatus(h, payment.id)) === 'SUCCEEDED' && (await deliveryStatus(payment.id)) === 'DELIVERED');
    return payment.id;
  }

  /** One customer buys two bundles (a first purchase, then another), another leaves a checkout unpaid; 1000 of the first is refunded. */
  async function aDayOfSales() {
    const first = await seedCatalog(h, { amountMinor: 2500 });
    const second = await seedCatalog(h, { amountMinor: 4000 });
    const paidFirst = await pay(first.customerId, first.planId);
    const paidSecond = await pay(first.customerId, second.planId);
    await createPayment(h, second.customerId, second.planId);
    expect(must(await h.gql(REFUND, { id: paidFirst, amount: 1000, reason: 'goodwill' }, { token: h.tokens.operator })).refundPayment.payment).toEqual({ status: 'SUCCEEDED', refundedMinor: 1000 });
    return { first, second, paidFirst, paidSecond };
  }

  it('counts a day of sales: gross, refunds, net, first purchases, checkout success, subscriptions; WEEK and MONTH add up to the days', async () => {
    const started = Date.now();
    await aDayOfSales();
    const today = midnight(Date.now());
    const [day] = must(await revenue(today, new Date(today.getTime() + DAY_MS), 'DAY')).revenueSeries;
    // Unless the test ran over a UTC midnight, everything happened today.
    if (midnight(started).getTime() === today.getTime()) {
      expect(day).toEqual({
        bucketStart: today.toISOString(),
        bucketEnd: new Date(today.getTime() + DAY_MS).toISOString(),
        grossMinor: 6500,
        refundedMinor: 1000,
        netMinor: 5500,
        payments: 2,
        firstPurchases: 1,
        renewals: 0,
        checkoutsStarted: 3,
        checkoutsSucceeded: 2,
        checkoutSuccessRate: 2 / 3,
        activeSubscriptions: 2,
        churned: 0,
      });
    }

    // A range of whole months around today: DAY, WEEK and MONTH points cover the same days.
    const from = monthStart(new Date(started - DAY_MS));
    const to = monthStart(new Date(Date.now() + DAY_MS), 1);
    const days = must(await revenue(from, to, 'DAY')).revenueSeries;
    const weeks = must(await revenue(from, to, 'WEEK')).revenueSeries;
    const months = must(await revenue(from, to, 'MONTH')).revenueSeries;
    expect(days).toHaveLength(Math.round((to.getTime() - from.getTime()) / DAY_MS));
    expect(totals(days)).toEqual({ grossMinor: 6500, refundedMinor: 1000, netMinor: 5500, payments: 2, firstPurchases: 1, renewals: 0, checkoutsStarted: 3, checkoutsSucceeded: 2, churned: 0 });
    expect(totals(weeks)).toEqual(totals(days));
    expect(totals(months)).toEqual(totals(days));
    // Every day has its point, empty ones with zeros; WEEK points start on Monday (the first one clipped to `from`).
    expect(days.filter((p) => p.payments === 0).map((p) => p.grossMinor)).toEqual(days.filter((p) => p.payments === 0).map(() => 0));
    expect(days.filter((p) => p.checkoutsStarted === 0).map((p) => p.checkoutSuccessRate)).toEqual(days.filter((p) => p.checkoutsStarted === 0).map(() => null));
    expect(weeks[0].bucketStart).toBe(from.toISOString());
    expect(weeks.slice(1).every((p) => new Date(String(p.bucketStart)).getUTCDay() === 1)).toBe(true);
    expect(weeks.at(-1)!.bucketEnd).toBe(to.toISOString());
    expect(months.map((p) => new Date(String(p.bucketStart)).getUTCDate())).toEqual(months.map(() => 1));
    // Active subscriptions are counted at each bucket's end: 2 from the day of the sales on.
    expect(days.at(-1)!.activeSubscriptions).toBe(2);
    expect(months.at(-1)!.activeSubscriptions).toBe(2);
    expect(days[0].activeSubscriptions).toBe(0);

    const [delivered] = must(await deliveries(today, new Date(today.getTime() + DAY_MS), 'DAY')).deliverySeries;
    if (midnight(started).getTime() === today.getTime()) {
      expect(delivered).toMatchObject({ delivered: 2, recovered: 0, failed: 0 });
      expect(delivered.p95Seconds).toEqual(expect.any(Number));
      expect(Number(delivered.p95Seconds)).toBeGreaterThanOrEqual(0);
      expect(Number(delivered.p95Seconds)).toBeLessThanOrEqual(60);
    }
    const deliveryDays = must(await deliveries(from, to, 'DAY')).deliverySeries;
    const deliveryMonths = must(await deliveries(from, to, 'MONTH')).deliverySeries;
    const sum = (points: Point[], key: string) => points.reduce((s, p) => s + Number(p[key]), 0);
    expect([sum(deliveryDays, 'delivered'), sum(deliveryMonths, 'delivered'), sum(deliveryDays, 'failed')]).toEqual([2, 2, 0]);
  });

  it('counts a full refund as a lapse, a failed delivery, and a recovered one', async () => {
    const { paidSecond } = await aDayOfSales();
    must(await h.gql(REFUND, { id: paidSecond, amount: null, reason: 'cancelled' }, { token: h.tokens.operator }));
    // Telegram refuses the next customer's message for good: a FAILED delivery.
    const third = await seedCatalog(h, { amountMinor: 1000 });
    h.telegram.failNext('sendMessage', { errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    const blocked = await createPayment(h, third.customerId, third.planId);
    await h.stripe.completeCheckout(blocked.stripeCheckoutSessionId);
    await eventually(async () => (await deliveryStatus(blocked.id)) === 'FAILED');
    // The operator's recovery delivers it: a recovered delivery.
    must(await h.gql(`mutation($id: ID!) { recoverPayment(paymentId: $id) { status } }`, { id: blocked.id }, { token: h.tokens.operator }));
    await eventually(async () => (await deliveryStatus(blocked.id)) === 'DELIVERED');

    const from = midnight(Date.now() - DAY_MS);
    const to = new Date(midnight(Date.now()).getTime() + 2 * DAY_MS);
    const points = must(await revenue(from, to, 'WEEK')).revenueSeries;
    expect(totals(points)).toMatchObject({ grossMinor: 7500, refundedMinor: 5000, netMinor: 2500, payments: 3, firstPurchases: 2, checkoutsStarted: 4, checkoutsSucceeded: 3, churned: 1 });
    expect(points.at(-1)!.activeSubscriptions).toBe(2);
    const delivered = must(await deliveries(from, to, 'MONTH')).deliverySeries;
    const sum = (key: string) => delivered.reduce((s, p) => s + Number(p[key]), 0);
    expect({ delivered: sum('delivered'), recovered: sum('recovered'), failed: sum('failed') }).toEqual({ delivered: 3, recovered: 1, failed: 1 });
  });

  it('answers empty buckets with zeros and null rates', async () => {
    const series = must(await revenue(new Date('2026-02-01T00:00:00Z'), new Date('2026-02-04T00:00:00Z'), 'DAY')).revenueSeries;
    expect(series.map((p) => p.bucketStart)).toEqual(['2026-02-01T00:00:00.000Z', '2026-02-02T00:00:00.000Z', '2026-02-03T00:00:00.000Z']);
    expect(series[1]).toMatchObject({ grossMinor: 0, refundedMinor: 0, netMinor: 0, payments: 0, checkoutSuccessRate: null, activeSubscriptions: 0, churned: 0 });
    const delivery = must(await deliveries(new Date('2026-02-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'), 'WEEK')).deliverySeries;
    expect(delivery.map((p) => p.bucketStart)).toEqual(['2026-02-01T00:00:00.000Z', '2026-02-02T00:00:00.000Z', '2026-02-09T00:00:00.000Z', '2026-02-16T00:00:00.000Z', '2026-02-23T00:00:00.000Z']);
    expect(delivery[0]).toMatchObject({ bucketEnd: '2026-02-02T00:00:00.000Z', delivered: 0, p95Seconds: null, avgSeconds: null });
  });

  it('refuses a range that is too long, not whole days, empty, or a bad currency, with BAD_USER_INPUT and a reason', async () => {
    const at = (iso: string) => new Date(iso);
    const refused = async (result: Promise<{ errors?: Array<{ extensions?: Record<string, unknown> }> }>) => (await result).errors?.[0].extensions;
    expect(await refused(revenue(at('2025-01-01T00:00:00Z'), at('2026-02-06T00:00:00Z'), 'DAY'))).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RANGE_TOO_LONG', buckets: 401, maxBuckets: 400 });
    expect(await refused(deliveries(at('2025-01-01T00:00:00Z'), at('2026-02-06T00:00:00Z'), 'DAY'))).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RANGE_TOO_LONG' });
    expect((await revenue(at('2025-01-01T00:00:00Z'), at('2026-02-05T00:00:00Z'), 'DAY')).data?.revenueSeries).toHaveLength(400);
    expect(await refused(revenue(at('1900-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), 'MONTH'))).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RANGE_OUT_OF_BOUNDS' });
    expect(await refused(revenue(at('2026-01-01T10:00:00Z'), at('2026-01-03T00:00:00Z'), 'DAY'))).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RANGE_NOT_WHOLE_DAYS' });
    expect(await refused(revenue(at('2026-01-03T00:00:00Z'), at('2026-01-03T00:00:00Z'), 'WEEK'))).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'RANGE_EMPTY' });
    const badCurrency = await h.gql(REVENUE, { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', bucket: 'DAY', currency: 'us$' }, { token: h.tokens.viewer });
    expect(badCurrency.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'CURRENCY_INVALID' });
  });

  it('is for staff from VIEWER up: unauthenticated and customer tokens are refused', async () => {
    const range = [new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z')] as const;
    expect((await revenue(...range, 'DAY', { token: h.tokens.viewer })).data?.revenueSeries).toHaveLength(1);
    expect((await h.gql(DELIVERIES, { from: range[0].toISOString(), to: range[1].toISOString(), bucket: 'DAY' }, { token: null, apiKey: 'viewer-key-0123456789abcdef' })).data?.deliverySeries).toHaveLength(1);
    const anonymous = await revenue(...range, 'DAY', { token: null });
    expect([anonymous.data?.revenueSeries ?? null, anonymous.errors?.[0].extensions?.code]).toEqual([null, 'UNAUTHENTICATED']);
    const customer = await revenue(...range, 'DAY', { token: await signToken('cus-dana', 'CUSTOMER') });
    expect(customer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

/**
 * The batch path (PaymentTransitions.succeedMany, a statement for many payments) moves the rollups
 * exactly as applying the same events one by one does: the triggers count rows, not code paths.
 */
describe('analytics rollups under the inbox batch path', () => {
  let batched: Harness;
  let oneByOne: Harness;
  let batchedDb: Pool;
  let oneByOneDb: Pool;
  beforeAll(async () => {
    batched = await startHarness();
    oneByOne = await startHarness({ env: { INBOX_BATCH_APPLY: 'false' } });
    batchedDb = new Pool({ connectionString: batched.database.url, max: 2 });
    oneByOneDb = new Pool({ connectionString: oneByOne.database.url, max: 2 });
  });
  afterAll(async () => {
    await batchedDb?.end();
    await oneByOneDb?.end();
    await batched?.close();
    await oneByOne?.close();
  });

  /** Five checkouts of four customers, paid, their events stored while nothing applies them; one refunded in part. */
  async function storeStream(h: Harness, pool: Pool): Promise<void> {
    const { planId } = await seedCatalog(h);
    const other = await seedCatalog(h, { amountMinor: 4000 });
    const events: Array<{ id: string; type: string }> = [];
    const customers: string[] = [];
    for (let n = 1; n <= 4; n++) {
      customers.push(must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: `Buyer ${n}`, telegramUserId: String(710_000 + n) } })).createCustomer.id as string);
    }
    for (let n = 1; n <= 5; n++) {
      // The fifth: the first customer again, another bundle (not a first purchase).
      const payment = await createPayment(h, customers[n === 5 ? 0 : n - 1], n === 5 ? other.planId : planId);
      const done = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
      events.push(...(done.events as unknown as Array<{ id: string; type: string }>));
      if (n === 2) {
        const intent = (done.events.find((e) => e.type === 'payment_intent.succeeded')!.data.object as { id: string }).id;
        events.push(...((await h.stripe.refundCharge(intent, { amount: 700 }, { sendWebhooks: false })).events as unknown as Array<{ id: string; type: string }>));
      }
    }
    const base = Date.now() - events.length;
    await pool.query(
      `insert into gateway_events (id, gateway, event_id, type, payload, received_at, attempts, next_attempt_at, created_at, updated_at)
       select gen_random_uuid(), 'stripe', x.event_id, x.type, x.payload, x.at, 0, x.at, x.at, x.at from jsonb_to_recordset($1::jsonb) as x(event_id text, type text, payload jsonb, at timestamptz)`,
      [JSON.stringify(events.map((e, i) => ({ event_id: e.id, type: e.type, payload: e, at: new Date(base + i).toISOString() })))],
    );
    h.app.services.intake.wake();
    await h.app.services.intake.whenIdle();
    await h.app.services.dispatcher.whenIdle();
  }

  const rollups = async (pool: Pool) => ({
    money: (await pool.query(`select currency, day::text, sum(gross_minor)::int as gross, sum(refunded_minor)::int as refunded, sum(payments)::int as payments,
        sum(first_purchases)::int as first, sum(renewals)::int as renewals, sum(checkouts_started)::int as started, sum(checkouts_succeeded)::int as succeeded
        from analytics_daily group by 1, 2 order by 1, 2`)).rows,
    subscriptions: (await pool.query(`select day::text, sum(started)::int as started, sum(ended)::int as ended from subscription_daily group by 1 order by 1`)).rows,
    deliveries: (await pool.query(`select day::text, sum(delivered)::int as delivered, sum(failed)::int as failed, sum(timed)::int as timed from delivery_daily group by 1 order by 1`)).rows,
  });

  it('counts the same either way', async () => {
    await storeStream(batched, batchedDb);
    await storeStream(oneByOne, oneByOneDb);
    // The batch really took the plain successes together (one transaction wrote them).
    const txs = (await batchedDb.query(`select count(distinct xmin::text)::int as n from payments where status = 'SUCCEEDED'`)).rows[0].n as number;
    expect(txs).toBeLessThan(5);
    const got = await rollups(batchedDb);
    expect(got).toEqual(await rollups(oneByOneDb));
    const total = (key: string) => got.money.reduce((s: number, r: Record<string, number>) => s + r[key], 0);
    expect({ gross: total('gross'), refunded: total('refunded'), payments: total('payments'), first: total('first'), started: total('started'), succeeded: total('succeeded') })
      .toEqual({ gross: 4 * 2500 + 4000, refunded: 700, payments: 5, first: 4, started: 5, succeeded: 5 });
    expect(got.subscriptions.reduce((s: number, r: Record<string, number>) => s + r.started - r.ended, 0)).toBe(5);
    expect(got.deliveries.reduce((s: number, r: Record<string, number>) => s + r.delivered, 0)).toBe(5);
  });
});

/**
 * analytics:compact folds the shard rows of finished days into one row a day: the series answer
 * the same before and after, yesterday and today stay sharded, and a row a transaction holds is
 * left for the next run instead of waited for.
 */
describe('analytics compaction', () => {
  let h: Harness;
  let pool: Pool;
  beforeAll(async () => {
    h = await startHarness();
    pool = new Pool({ connectionString: h.database.url, max: 3 });
  });
  afterAll(async () => {
    await pool?.end();
    await h?.close();
  });

  const DAY = 86_400_000;
  const dayOf = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);
  const series = async () => {
    const range = { from: `${dayOf(-10)}T00:00:00.000Z`, to: `${dayOf(1)}T00:00:00.000Z` };
    const revenue = must(await h.gql(`query($from: DateTime!, $to: DateTime!) { revenueSeries(from: $from, to: $to, bucket: DAY, currency: "usd") { bucketStart grossMinor refundedMinor payments firstPurchases checkoutsStarted checkoutsSucceeded activeSubscriptions churned } }`, range, { token: h.tokens.viewer })).revenueSeries;
    const deliveries = must(await h.gql(`query($from: DateTime!, $to: DateTime!) { deliverySeries(from: $from, to: $to, bucket: WEEK) { bucketStart delivered recovered failed avgSeconds p95Seconds } }`, range, { token: h.tokens.viewer })).deliverySeries;
    return { revenue, deliveries };
  };
  const shardsOf = async (table: string) =>
    Object.fromEntries((await pool.query(`select day::text as day, count(*)::int as n from ${table} group by 1 order by 1`)).rows.map((r) => [r.day, r.n]));

  it('folds the shards of days before yesterday into one row, answering the same', async () => {
    // Ten days of rollups in every shard, as 16 busy connections leave them.
    await pool.query(`insert into analytics_daily (currency, day, shard, gross_minor, refunded_minor, payments, first_purchases, renewals, checkouts_started, checkouts_succeeded)
      select 'usd', (now() at time zone 'UTC')::date - d, s, 2500 * (s + 1), 100 * s, s + 1, 1, 0, s + 2, s + 1 from generate_series(0, 9) d, generate_series(0, 15) s`);
    await pool.query(`insert into subscription_daily (day, shard, started, ended) select (now() at time zone 'UTC')::date - d, s, 3, 1 from generate_series(0, 9) d, generate_series(0, 15) s`);
    await pool.query(`insert into delivery_daily (day, shard, delivered, recovered, failed, timed, seconds, le_5, le_60)
      select (now() at time zone 'UTC')::date - d, s, s + 1, s % 2, 1, s + 1, 10 * (s + 1), s, 1 from generate_series(0, 9) d, generate_series(0, 15) s`);
    const before = await series();
    // One old row is being written right now (a late checkout's success): compaction leaves it.
    const writer = await pool.connect();
    try {
      await writer.query('begin');
      await writer.query(`select 1 from analytics_daily where currency = 'usd' and day = (now() at time zone 'UTC')::date - 5 and shard = 7 for update`);
      const report = await h.app.services.analyticsCompaction.run();
      expect(report.rowsFolded).toBe(3 * 8 * 15 - 1);
      await writer.query('commit');
    } finally {
      writer.release();
    }
    expect(await series()).toEqual(before);
    const shards = await shardsOf('analytics_daily');
    expect([shards[dayOf(0)], shards[dayOf(-1)], shards[dayOf(-2)], shards[dayOf(-5)], shards[dayOf(-9)]]).toEqual([16, 16, 1, 2, 1]);
    expect(Object.values(await shardsOf('delivery_daily'))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 16, 16]);
    expect((await h.app.services.analyticsCompaction.run()).rowsFolded).toBe(1);
    expect((await shardsOf('analytics_daily'))[dayOf(-5)]).toBe(1);
    expect(await series()).toEqual(before);
  });
});
