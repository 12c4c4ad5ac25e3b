import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import type { ManualClock } from '../../src/platform/shared/clock';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';

const BOT_TOKEN = '123456:test-bot-token';
const DELIVERY = `query($id: ID!) { payment(id: $id) { deliveryStatus deliveryAttempts deliveryRecovered deliveryFailureReason deliveredAt } }`;
const SWEEP = `mutation { processFailedDeliveries { claimed delivered retrying awaitingCustomer failed } }`;

type Catalog = Awaited<ReturnType<typeof seedCatalog>>;

/**
 * Paid payments whose delivery the database says is owed, written by SQL as a crash would leave
 * them: one customer each (Telegram ids from firstChat up), so messages can be counted per payment.
 */
async function seedOwed(pool: Pool, cat: Catalog, count: number, delivery: { status: 'PENDING' | 'IN_PROGRESS'; dueInMs: number; firstChat?: number }): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `with c as (insert into customers (id, name, telegram_user_id)
                select gen_random_uuid(), 'Owed ' || n, ($6::bigint + n - 1)::text from generate_series(1, $1::int) n returning id)
        , p as (insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, paid_at, succeeded_at)
                select gen_random_uuid(), c.id, $2, $3, 2500, 'usd', 'SUCCEEDED', now(), now() from c returning id, paid_at)
     insert into deliveries (payment_id, status, attempts, next_attempt_at, paid_at)
     select p.id, $4, 0, now() + make_interval(secs => $5::float / 1000), p.paid_at from p
     returning payment_id as id`,
    [count, cat.planId, cat.bundleId, delivery.status, delivery.dueInMs, delivery.firstChat ?? 900000001],
  );
  return rows.map((r) => r.id);
}

const messagesPerChat = (telegram: FakeTelegram): Map<number, number> => {
  const counts = new Map<number, number>();
  for (const m of telegram.messagesTo()) counts.set(m.chat.id, (counts.get(m.chat.id) ?? 0) + 1);
  return counts;
};

describe('delivery recovery', () => {
  let h: Harness;
  let pool: Pool;
  beforeAll(async () => {
    // A budget long enough to outlast a short Telegram outage at the harness's 50 ms → 400 ms backoff.
    h = await startHarness({ env: { DELIVERY_MAX_ATTEMPTS: '12', DELIVERY_GRACE_MS: '0' } });
    pool = new Pool({ connectionString: h.database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await h?.close();
  });
  beforeEach(async () => h.reset());

  const deliveryOf = async (id: string) => must(await h.gql(DELIVERY, { id })).payment;
  const until = (id: string, status: string, timeoutMs?: number) =>
    eventually(async () => {
      const d = await deliveryOf(id);
      return d.deliveryStatus === status ? d : null;
    }, timeoutMs);

  it('rides out a Telegram outage with backoff, then delivers once and marks the payment recovered', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failAll('sendMessage', { errorCode: 502, description: 'Bad Gateway' });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    await eventually(async () => (await deliveryOf(payment.id)).deliveryAttempts >= 3);
    expect(await deliveryOf(payment.id)).toMatchObject({ deliveryStatus: expect.stringMatching(/PENDING|IN_PROGRESS/), deliveryFailureReason: expect.stringContaining('Bad Gateway') });
    h.telegram.clearFaults();

    const delivered = await until(payment.id, 'DELIVERED');
    expect(delivered).toMatchObject({ deliveryRecovered: true, deliveryFailureReason: null });
    expect(delivered.deliveryAttempts).toBeGreaterThanOrEqual(4);
    expect(h.telegram.messagesTo(700100200)).toHaveLength(1);
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1);
  });

  it('fails for good on "chat not found", with one DELIVERY_FAILED alert and no retries', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failNext('sendMessage', { errorCode: 400, description: 'Bad Request: chat not found' });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const failed = await until(payment.id, 'FAILED');
    expect(failed).toMatchObject({ deliveryAttempts: 1, deliveryFailureReason: expect.stringContaining('chat not found') });
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
    const alerts = must(await h.gql(`{ alerts(filter: { types: [DELIVERY_FAILED] }) { edges { node { severity subjectId } } } }`));
    expect(alerts.alerts.edges).toEqual([{ node: { severity: 'HIGH', subjectId: payment.id } }]);
  });

  it('waits for a customer without a Telegram account, links already created', async () => {
    const cat = await seedCatalog(h);
    const customer = must(await h.gql(`mutation { createCustomer(input: { name: "No Telegram", email: "nt@example.com" }) { id } }`)).createCustomer;
    const payment = await createPayment(h, customer.id, cat.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const waiting = await until(payment.id, 'AWAITING_CUSTOMER');
    expect(waiting.deliveryFailureReason).toContain('no Telegram account');
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);
    const { rows } = await pool.query(`select count(*)::int as n from invite_links where payment_id = $1 and revoked_at is null`, [payment.id]);
    expect(rows[0].n).toBe(1);
  });

  it('waits when the bot cannot initiate the conversation, then an operator recovery sends the same link', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failNext('sendMessage', { errorCode: 403, description: "Forbidden: bot can't initiate conversation with a user" });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    expect(await until(payment.id, 'AWAITING_CUSTOMER')).toMatchObject({ deliveryAttempts: 1, deliveryFailureReason: expect.stringContaining('not started a chat') });

    const recovered = must(await h.gql(`mutation($id: ID!) { recoverPayment(paymentId: $id) { status attempts } }`, { id: payment.id }, { token: h.tokens.operator }));
    expect(recovered.recoverPayment).toEqual({ status: 'DELIVERED', attempts: 1 });
    const [link] = h.telegram.callsTo('createChatInviteLink');
    const { rows } = await pool.query<{ url: string }>(`select telegram_invite_link as url from invite_links where payment_id = $1`, [payment.id]);
    expect(rows).toHaveLength(1); // reused, not minted again
    expect(h.telegram.callsTo('createChatInviteLink')).toEqual([link]);
    expect(h.telegram.messagesTo(700100200)[0].text).toContain(rows[0].url);
  });

  it('reuses the stored link on every retry', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failNext('sendMessage', { errorCode: 429, retryAfter: 0, description: 'Too Many Requests: retry after 0', times: 1 });
    h.telegram.failNext('sendMessage', { errorCode: 500, times: 2 });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    await until(payment.id, 'DELIVERED');
    const texts = h.telegram.callsTo('sendMessage').map((c) => String(c.params.text));
    const urls = texts.map((t) => t.match(/https:\/\/t\.me\/\+[\w-]+/)?.[0]);
    expect(new Set(urls).size).toBe(1);
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1);
    expect(h.telegram.messagesTo(700100200)).toHaveLength(1);
  });

  it('finds a delivery whose dispatch was lost and marks it recovered', async () => {
    const cat = await seedCatalog(h);
    const [id] = await seedOwed(pool, cat, 1, { status: 'PENDING', dueInMs: 0 });

    const { processFailedDeliveries } = must(await h.gql(SWEEP, {}, { token: h.tokens.operator }));
    expect(processFailedDeliveries).toEqual({ claimed: 1, delivered: 1, retrying: 0, awaitingCustomer: 0, failed: 0 });
    expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryRecovered: true, deliveryAttempts: 1 });
    expect(h.telegram.messagesTo(900000001)).toHaveLength(1);
    const report = must(await h.gql(`{ alerts(filter: { types: [RECOVERY_REPORT] }) { edges { node { severity title } } } }`));
    expect(report.alerts.edges).toEqual([{ node: { severity: 'INFO', title: 'Recovery sweep: 1 of 1 delivered' } }]);
  });

  it('processFailedDeliveries gives FAILED deliveries of paid payments a fresh budget and delivers them, audited', async () => {
    const cat = await seedCatalog(h);
    const [failed, refunded] = await seedOwed(pool, cat, 2, { status: 'PENDING', dueInMs: 60_000, firstChat: 900000003 });
    await pool.query(`update deliveries set status = 'FAILED', attempts = 12, next_attempt_at = null, failure_reason = 'Bad Request: chat not found (gave up after 12 attempts)' where payment_id = any($1::uuid[])`, [[failed, refunded]]);
    // A delivery that failed because the payment was refunded owes nothing: it stays FAILED.
    await pool.query(`update payments set status = 'REFUNDED', refunded_minor = 2500 where id = $1`, [refunded]);
    await pool.query(`update deliveries set access_revoked_at = now(), access_revoked_reason = 'payment refunded' where payment_id = $1`, [refunded]);

    const { processFailedDeliveries } = must(await h.gql(`mutation { processFailedDeliveries { reopenedFailed claimed delivered failed } }`, {}, { token: h.tokens.operator }));
    expect(processFailedDeliveries).toEqual({ reopenedFailed: 1, claimed: 1, delivered: 1, failed: 0 });
    expect(await deliveryOf(failed)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryAttempts: 1, deliveryRecovered: true });
    expect(await deliveryOf(refunded)).toMatchObject({ deliveryStatus: 'FAILED' });
    expect(h.telegram.messagesTo(900000003)).toHaveLength(1);
    expect(h.telegram.messagesTo(900000004)).toHaveLength(0);
    const audit = (await pool.query(`select actor, subject_id, before, after from audit_entries where action = 'delivery.recover'`)).rows;
    expect(audit).toEqual([{ actor: 'operator:olga-operator', subject_id: failed, before: { deliveryStatus: 'FAILED', deliveryAttempts: 12, deliveryFailureReason: 'Bad Request: chat not found (gave up after 12 attempts)' }, after: { deliveryStatus: 'PENDING', deliveryAttempts: 0 } }]);

    // Done: a second call finds nothing failed to reopen.
    expect(must(await h.gql(`mutation { processFailedDeliveries { reopenedFailed claimed } }`, {}, { token: h.tokens.operator })).processFailedDeliveries).toEqual({ reopenedFailed: 0, claimed: 0 });
  });

  it('leaves a live claim alone and reclaims one whose lease expired', async () => {
    const cat = await seedCatalog(h);
    const [expired] = await seedOwed(pool, cat, 1, { status: 'IN_PROGRESS', dueInMs: -1000, firstChat: 900000002 });
    const [live] = await seedOwed(pool, cat, 1, { status: 'IN_PROGRESS', dueInMs: 60_000 });

    const { processFailedDeliveries } = must(await h.gql(SWEEP, {}, { token: h.tokens.operator }));
    expect(processFailedDeliveries).toMatchObject({ claimed: 1, delivered: 1 });
    expect(await deliveryOf(expired)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryRecovered: true });
    expect(await deliveryOf(live)).toMatchObject({ deliveryStatus: 'IN_PROGRESS' });
    expect(h.telegram.messagesTo(900000002)).toHaveLength(1);
    expect(h.telegram.messagesTo(900000001)).toHaveLength(0);
  });
});

describe('two instances sweeping one database', () => {
  let db: TestDatabase;
  let telegram: FakeTelegram;
  let a: Harness;
  let b: Harness;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    telegram = await startFakeTelegram({ botToken: BOT_TOKEN });
    // A short lease, so that claims expire while rows wait behind the concurrency limit (and
    // while links are made); Telegram calls time out within half of it.
    const env = { DELIVERY_LEASE_MS: '1000', TELEGRAM_TIMEOUT_MS: '450', DELIVERY_CONCURRENCY: '8' };
    a = await startHarness({ database: db, telegram, env });
    b = await startHarness({ database: db, telegram, env });
    pool = new Pool({ connectionString: db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await a?.close();
    await b?.close();
    await telegram?.close();
    await db?.drop();
  });

  it('sends each of 200 due payments exactly one message, even when claims expire mid-sweep', async () => {
    const cat = await seedCatalog(a);
    const ids = await seedOwed(pool, cat, 200, { status: 'PENDING', dueInMs: -1000 });
    // Slow enough that A cannot attempt its whole batch of 200 within one lease.
    telegram.failAll('sendMessage', { delayMs: 60 });

    const first = a.app.services.recoverySweep.run('sweep');
    await eventually(async () => (await pool.query(`select 1 from deliveries where status = 'IN_PROGRESS' and next_attempt_at < now()`)).rowCount, 5000);
    const reports = await Promise.all([first, b.app.services.recoverySweep.run('sweep')]);
    await eventually(async () => {
      const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from deliveries where status = 'DELIVERED'`);
      if (rows[0].n < ids.length) await Promise.all([a.app.services.recoverySweep.run('sweep'), b.app.services.recoverySweep.run('sweep')]);
      return rows[0].n === ids.length;
    }, 15_000, 200);

    const counts = messagesPerChat(telegram);
    expect(counts.size).toBe(200);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(reports[1].claimed).toBeGreaterThan(0); // B took over claims A let lapse
  }, 30_000);
});

describe('a claim that ran out', () => {
  let h: Harness;
  let pool: Pool;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    pool = new Pool({ connectionString: h.database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await h?.close();
  });

  it('is not used to send: the worker that claimed the row after it delivers, once', async () => {
    const { delivery } = h.app.services;
    const clock = h.clock as ManualClock;
    const cat = await seedCatalog(h);
    const [id] = await seedOwed(pool, cat, 1, { status: 'PENDING', dueInMs: -1000 });

    // Worker A claims, then stalls (a slow Telegram while making links) past its lease; worker B claims.
    const leaseA = (await delivery.claimOne(id, 'dispatch'))!;
    clock.advance(h.app.services.config.delivery.leaseMs + 1000);
    const leaseB = (await delivery.claimOne(id, 'sweep'))!;
    expect(leaseB.getTime()).toBeGreaterThan(leaseA.getTime());

    const late = await delivery.attempt(id, 'dispatch', leaseA);
    expect(late).toMatchObject({ status: 'IN_PROGRESS', retryAt: null });
    expect(h.telegram.messagesTo(900000001)).toHaveLength(0);

    expect(await delivery.attempt(id, 'sweep', leaseB)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(h.telegram.messagesTo(900000001)).toHaveLength(1);
  });

  it('cannot overwrite the record of the worker that holds the row now', async () => {
    const { delivery } = h.app.services;
    const clock = h.clock as ManualClock;
    const cat = await seedCatalog(h);
    const [id] = await seedOwed(pool, cat, 1, { status: 'PENDING', dueInMs: -1000, firstChat: 900000002 });
    const leaseA = (await delivery.claimOne(id, 'dispatch'))!;
    clock.advance(h.app.services.config.delivery.leaseMs + 1000);
    const leaseB = (await delivery.claimOne(id, 'sweep'))!;

    // A's attempt fails on Telegram and would record a retry (PENDING) over B's claim.
    h.telegram.failNext('createChatInviteLink', { errorCode: 500, description: 'Internal Server Error' });
    expect(await delivery.attempt(id, 'dispatch', leaseA)).toMatchObject({ status: 'IN_PROGRESS' });
    const row = (await pool.query(`select status as delivery_status, attempts as delivery_attempts, next_attempt_at as delivery_next_attempt_at from deliveries where payment_id = $1`, [id])).rows[0];
    expect(row).toMatchObject({ delivery_status: 'IN_PROGRESS', delivery_attempts: 0 });
    expect(row.delivery_next_attempt_at.getTime()).toBe(leaseB.getTime());
  });
});
