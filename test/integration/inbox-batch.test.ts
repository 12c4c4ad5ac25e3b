import { Pool } from 'pg';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

/**
 * The inbox's batch path (INBOX_BATCH_APPLY, on by default): a claimed batch's plain successes are
 * applied together in one transaction with set-based SQL, the rest one by one after it. Events are
 * stored here as POST /webhooks/stripe stores them, while nothing applies them, and then the
 * applier is woken once: so they are claimed as one batch.
 */
interface Stored {
  id: string;
  type: string;
}

async function storeEvents(h: Harness, pool: Pool, events: Stored[]): Promise<void> {
  // Received a moment ago, in order (the manual clock stands still: later would not be due yet).
  const base = h.clock.now().getTime() - events.length;
  const rows = events.map((event, i) => ({ event_id: event.id, type: event.type, payload: event, at: new Date(base + i).toISOString() }));
  await pool.query(
    `insert into gateway_events (id, gateway, event_id, type, payload, received_at, attempts, next_attempt_at, created_at, updated_at)
     select gen_random_uuid(), 'stripe', x.event_id, x.type, x.payload, x.at, 0, x.at, x.at, x.at
       from jsonb_to_recordset($1::jsonb) as x(event_id text, type text, payload jsonb, at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

async function applyStored(h: Harness): Promise<void> {
  h.app.services.intake.wake();
  await h.app.services.intake.whenIdle();
  await h.app.services.dispatcher.whenIdle();
  await h.app.services.telegramOutbox.whenIdle();
}

async function customer(h: Harness, n: number): Promise<string> {
  const created = await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: `Buyer ${n}`, email: `buyer${n}@example.com`, telegramUserId: String(700_000 + n) } });
  return must(created).createCustomer.id as string;
}

/**
 * Six payments of six customers: four plain successes, one whose full refund arrives before its
 * success (out of order), and one partly refunded after it. Returns the payments by label and the
 * events in the order they are stored.
 */
async function mixedStream(h: Harness): Promise<{ labels: Map<string, string>; events: Stored[] }> {
  const { planId } = await seedCatalog(h);
  const labels = new Map<string, string>();
  const successes: Stored[][] = [];
  const refunds = new Map<number, Stored[]>();
  for (let n = 1; n <= 6; n++) {
    const payment = await createPayment(h, await customer(h, n), planId);
    labels.set(payment.id, `P${n}`);
    const { events } = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    successes.push(events as unknown as Stored[]);
    const intentId = (events.find((e) => e.type === 'payment_intent.succeeded')!.data.object as { id: string }).id;
    if (n === 5) refunds.set(n, (await h.stripe.refundCharge(intentId, {}, { sendWebhooks: false })).events as unknown as Stored[]);
    if (n === 6) refunds.set(n, (await h.stripe.refundCharge(intentId, { amount: 1000 }, { sendWebhooks: false })).events as unknown as Stored[]);
  }
  const events = [...refunds.get(5)!, ...successes.flat(), ...refunds.get(6)!];
  return { labels, events };
}

/** What a user can see of the outcome, with ids replaced by labels and times by durations. */
async function snapshot(pool: Pool, labels: Map<string, string>) {
  const label = (text: unknown) => String(text).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => labels.get(id) ?? 'other').replace(/\b(pi|cs|ch|re|cus|pm|evt|po|dp|py)_[A-Za-z0-9]+/g, '$1_…');
  const q = async (sql: string) => (await pool.query(sql)).rows.map((row) => label(JSON.stringify(row))).sort();
  const subs = await pool.query(`select id, last_payment_id from subscriptions`);
  for (const s of subs.rows) labels.set(s.id, `sub:${labels.get(s.last_payment_id)}`);
  return {
    payments: await q(`select id, status, refunded_minor, paid_at is not null as paid, stripe_payment_intent_id is not null as intent, stripe_customer_id is not null as customer,
                              succeeded_at is not null as succeeded, refunded_at is not null as refunded from payments`),
    audit: await q(`select subject_id, action, actor, before, after, note from audit_entries where subject_type not in ('channel', 'bundle', 'plan', 'customer')`),
    subscriptions: await q(`select last_payment_id, status, extract(epoch from current_period_end - current_period_start) / 86400 as days, lapsed_at is not null as lapsed from subscriptions`),
    deliveries: await q(`select payment_id, status, attempts, access_revoked_at is not null as revoked from deliveries`),
    events: await q(`select type, outcome, attempts, last_error from gateway_events`),
    alerts: await q(`select type, subject_id, occurrences from alerts`),
    messages: await q(`select count(*) from invite_links`),
  };
}

describe('the inbox batch path', () => {
  let batched: Harness;
  let oneByOne: Harness;
  let batchedDb: Pool;
  let oneByOneDb: Pool;

  beforeAll(async () => {
    batched = await startHarness({ clock: 'manual' });
    oneByOne = await startHarness({ clock: 'manual', env: { INBOX_BATCH_APPLY: 'false' } });
    batchedDb = new Pool({ connectionString: batched.database.url, max: 2 });
    oneByOneDb = new Pool({ connectionString: oneByOne.database.url, max: 2 });
  });
  afterAll(async () => {
    await batchedDb?.end();
    await oneByOneDb?.end();
    await batched?.close();
    await oneByOne?.close();
  });
  beforeEach(async () => {
    await batched.reset();
    await oneByOne.reset();
  });

  it('leaves every payment, audit entry, subscription, delivery and event as applying them one by one does', async () => {
    const a = await mixedStream(batched);
    const b = await mixedStream(oneByOne);
    await storeEvents(batched, batchedDb, a.events);
    await storeEvents(oneByOne, oneByOneDb, b.events);
    await applyStored(batched);
    await applyStored(oneByOne);

    const got = await snapshot(batchedDb, a.labels);
    const want = await snapshot(oneByOneDb, b.labels);
    expect(got).toEqual(want);
    // And the outcome is the documented one, not merely the same wrong one twice.
    expect(got.payments.filter((p) => p.includes('"status":"SUCCEEDED"'))).toHaveLength(5);
    expect(got.payments.find((p) => p.includes('"P5"'))).toContain('"status":"REFUNDED"');
    expect(got.payments.find((p) => p.includes('"P6"'))).toContain('"refunded_minor":1000');
    expect(got.deliveries.filter((d) => d.includes('"status":"DELIVERED"'))).toHaveLength(5);
    expect(got.events.filter((e) => e.includes('PENDING -> SUCCEEDED -> REFUNDED'))).toHaveLength(1);
    expect(got.events.every((e) => e.includes('"last_error":null'))).toBe(true);
    expect(batched.telegram.callsTo('sendMessage')).toHaveLength(5);
  });

  it('moves the plain successes of a batch in one transaction, the out-of-order refund one by one', async () => {
    const { labels, events } = await mixedStream(batched);
    await storeEvents(batched, batchedDb, events);
    await applyStored(batched);
    // Rows written by one transaction carry its id (xmin); the batch's successes share one.
    const rows = (await batchedDb.query(`select id, status, xmin::text as tx from payments`)).rows as Array<{ id: string; status: string; tx: string }>;
    expect(rows.filter((r) => r.status === 'SUCCEEDED')).toHaveLength(5);
    const txOf = (n: number) => rows.find((r) => labels.get(r.id) === `P${n}`)!.tx;
    const plain = [1, 2, 3, 4].map(txOf);
    expect(new Set(plain).size).toBe(1);
    expect(txOf(5)).not.toBe(plain[0]);
    const applied = (await batchedDb.query(`select outcome, xmin::text as tx from gateway_events where type in ('payment_intent.succeeded', 'checkout.session.completed')`)).rows as Array<{ outcome: string; tx: string }>;
    expect(applied.filter((e) => e.tx === plain[0] && e.outcome === 'PENDING -> SUCCEEDED')).toHaveLength(5); // P1-P4 and P6
  });

  it('applies each event on its own when INBOX_BATCH_APPLY=false', async () => {
    const { labels, events } = await mixedStream(oneByOne);
    await storeEvents(oneByOne, oneByOneDb, events);
    await applyStored(oneByOne);
    const rows = (await oneByOneDb.query(`select id, status, xmin::text as tx from payments`)).rows as Array<{ id: string; status: string; tx: string }>;
    const plain = rows.filter((r) => ['P1', 'P2', 'P3', 'P4'].includes(labels.get(r.id)!));
    expect(plain.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(new Set(plain.map((r) => r.tx)).size).toBe(4);
  });

  it('when the batch fails, applies the others one by one and records the failure on the bad event only', async () => {
    const { labels, events } = await mixedStream(batched);
    const bad = [...labels].find(([, l]) => l === 'P3')![0];
    // The database refuses anything about P3's subscription: its batch fails, and so does its event alone.
    await batchedDb.query(`create or replace function refuse_p3() returns trigger language plpgsql as $$
      begin if new.last_payment_id = '${bad}' then raise exception 'test: subscription refused'; end if; return new; end $$`);
    await batchedDb.query(`create trigger refuse_p3 before insert or update on subscriptions for each row execute function refuse_p3()`);
    try {
      await storeEvents(batched, batchedDb, events);
      await applyStored(batched);
      const payments = (await batchedDb.query(`select id, status from payments`)).rows as Array<{ id: string; status: string }>;
      const status = (l: string) => payments.find((p) => labels.get(p.id) === l)!.status;
      expect(['P1', 'P2', 'P4', 'P6'].map(status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      expect(status('P5')).toBe('REFUNDED');
      expect(status('P3')).toBe('PENDING');
      const failed = (await batchedDb.query(`select type, attempts, last_error, next_attempt_at is not null as retried, processed_at from gateway_events where last_error is not null`)).rows;
      expect(failed.length).toBeGreaterThan(0);
      for (const event of failed) {
        expect(event).toMatchObject({ attempts: 1, retried: true, processed_at: null });
        expect(event.last_error).toContain('subscription refused');
      }
      expect((await batchedDb.query(`select count(*)::int as n from gateway_events where processed_at is null`)).rows[0].n).toBe(failed.length);
    } finally {
      await batchedDb.query(`drop trigger if exists refuse_p3 on subscriptions`);
    }
  });
});
