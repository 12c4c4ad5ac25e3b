import { Client } from 'pg';
import { collectBusinessFigures } from '../../src/app/business-metrics';
import { STRIPE_FACT_EVENT_TYPES } from '../../src/integrations/stripe/facts';
import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import { LocalStripe, ReconciliationScenario } from '../support/reconciliation-seed';
import { advance, queueRetry, seedFailedPayments } from '../support/retry-fixtures';

/**
 * /metrics' business figures over the real HTTP server, with the fake Stripe and Telegram: what a
 * payment, a refusing Telegram, a failing retry and a reconciliation finding do to them, that a
 * database that does not answer costs a scrape stale figures rather than an error, and that the
 * statements a scrape runs read no big table (EXPLAIN on a populated database).
 */
const MIN = 60_000;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
}

const folded = (type: string) => ((STRIPE_FACT_EVENT_TYPES as readonly string[]).includes(type) ? type : 'other');

describe('business metrics on /metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    // A delivery retry waits 10 minutes: advancing the clock less leaves an owed delivery owed.
    h = await startHarness({ clock: 'manual', env: { RETRY_JITTER_PERCENT: '0', QUEUE_JITTER_PERCENT: '0', DELIVERY_BACKOFF_BASE_MS: String(10 * MIN), DELIVERY_BACKOFF_CAP_MS: String(10 * MIN) } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => {
    h.telegram.clearFaults();
    await h.reset();
  });

  const scrape = async (): Promise<Sample[]> => {
    const response = await fetch(`${h.url}/metrics`);
    expect(response.status).toBe(200);
    return parse(await response.text());
  };
  const clock = () => h.clock as ManualClock;
  const deliveryOf = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus } }`, { id })).payment.deliveryStatus as string;

  it('moves payments, deliveries, webhook counts and the inbox when a payment is paid', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const before = await scrape();
    expect(value(before, 'recoup_payments', { status: 'PENDING' })).toBe(1);
    expect(value(before, 'recoup_payments', { status: 'SUCCEEDED' })).toBe(0);

    const { events } = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await deliveryOf(payment.id)) === 'DELIVERED');
    const after = await scrape();

    const moved = (name: string, labels: Record<string, string>) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(moved('recoup_payments', { status: 'SUCCEEDED' })).toBe(1);
    expect(moved('recoup_payments', { status: 'PENDING' })).toBe(-1);
    expect(moved('recoup_deliveries', { status: 'DELIVERED' })).toBe(1);
    expect(value(after, 'recoup_deliveries', { status: 'PENDING' })).toBe(0);
    expect(value(after, 'recoup_delivery_oldest_owed_age_seconds')).toBe(0);
    // Every event the fake Stripe sent was stored, then applied, under its own type or `other`.
    expect(events.length).toBeGreaterThan(1);
    expect(moved('recoup_webhook_events_total', { source: 'stripe', outcome: 'stored' })).toBe(events.length);
    expect(moved('recoup_webhook_events_total', { source: 'stripe', outcome: 'processed' })).toBe(events.length);
    const byType = new Map<string, number>();
    for (const { type } of events) byType.set(folded(type), (byType.get(folded(type)) ?? 0) + 1);
    for (const [type, n] of byType) {
      expect({ type, stored: moved('recoup_webhook_events_total', { source: 'stripe', type, outcome: 'stored' }), processed: moved('recoup_webhook_events_total', { source: 'stripe', type, outcome: 'processed' }) }).toEqual({ type, stored: n, processed: n });
    }
    expect(value(after, 'recoup_inbox_unapplied_events')).toBe(0);
    expect(value(after, 'recoup_inbox_oldest_unapplied_age_seconds')).toBe(0);
    expect(value(after, 'recoup_business_metrics_collected_timestamp_seconds')).toBeGreaterThan(0);
  });

  it('folds an event type Recoup does not act on into `other`', async () => {
    const before = await scrape();
    const status = await h.stripe.sendEvent({ id: 'evt_metrics_made_up', object: 'event', type: 'x.made_up.type', created: 1, data: { object: { id: 'x_1', object: 'x' } } });
    expect(status).toBe(200);
    await h.app.services.intake.whenIdle();
    const after = await scrape();
    const other = { source: 'stripe', type: 'other' };
    expect((value(after, 'recoup_webhook_events_total', { ...other, outcome: 'stored' }) ?? 0) - (value(before, 'recoup_webhook_events_total', { ...other, outcome: 'stored' }) ?? 0)).toBe(1);
    expect(after.some((s) => s.labels.type === 'x.made_up.type')).toBe(false);
  });

  it('shows how long the oldest owed delivery has waited while Telegram refuses, and nothing once delivered', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failAll('sendMessage', { errorCode: 500, description: 'Internal Server Error' });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    // The first attempt failed: owed again, due in 10 minutes.
    await eventually(async () => h.telegram.callsTo('sendMessage').length === 1 && (await deliveryOf(payment.id)) === 'PENDING');
    clock().advance(90_000);

    const owed = await scrape();
    expect(value(owed, 'recoup_deliveries', { status: 'PENDING' })).toBe(1);
    expect(value(owed, 'recoup_deliveries', { status: 'DELIVERED' })).toBe(0);
    expect(value(owed, 'recoup_delivery_oldest_owed_age_seconds')).toBe(90);

    h.telegram.clearFaults();
    clock().advance(10 * MIN);
    await h.app.services.recoverySweep.run('sweep');
    await eventually(async () => (await deliveryOf(payment.id)) === 'DELIVERED');
    const delivered = await scrape();
    expect(value(delivered, 'recoup_deliveries', { status: 'PENDING' })).toBe(0);
    expect(value(delivered, 'recoup_deliveries', { status: 'DELIVERED' })).toBe(1);
    expect(value(delivered, 'recoup_delivery_oldest_owed_age_seconds')).toBe(0);
  });

  it('shows a failed retry among the retry jobs, counts its outcomes and times its processing', async () => {
    const [payment] = await seedFailedPayments(h, [2500]);
    const before = await scrape();
    const moved = (after: Sample[], name: string, labels: Record<string, string>) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(value(before, 'recoup_retry_jobs', { status: 'QUEUED' })).toBe(0);
    expect((await queueRetry(h, payment.paymentId, { code: 'processing_error' })).outcome).toBe('QUEUED');

    const queued = await scrape();
    expect(value(queued, 'recoup_retry_jobs', { status: 'QUEUED', reason: 'PROCESSING_ERROR' })).toBe(1);
    expect(value(queued, 'recoup_payments', { status: 'FAILED' })).toBe(1);

    // processing_error: retried after 1, 2 and 4 minutes; the fake Stripe declines each charge.
    advance(h, MIN);
    h.stripe.declineNext('processing_error');
    await h.app.services.retryProcessor.run();
    const retried = await scrape();
    expect(value(retried, 'recoup_retry_jobs', { status: 'QUEUED', reason: 'PROCESSING_ERROR' })).toBe(1);
    expect(moved(retried, 'recoup_retry_outcomes_total', { outcome: 'retry_scheduled' })).toBe(1);
    expect(moved(retried, 'recoup_retry_processing_seconds_count', { result: 'failed' })).toBe(1);

    for (const wait of [2 * MIN, 4 * MIN]) {
      advance(h, wait);
      h.stripe.declineNext('processing_error');
      await h.app.services.retryProcessor.run();
    }
    const exhausted = await scrape();
    expect(value(exhausted, 'recoup_retry_jobs', { status: 'QUEUED' })).toBe(0);
    expect(value(exhausted, 'recoup_retry_jobs', { status: 'PROCESSING' })).toBe(0);
    expect(moved(exhausted, 'recoup_retry_outcomes_total', { outcome: 'retry_scheduled' })).toBe(2);
    expect(moved(exhausted, 'recoup_retry_outcomes_total', { outcome: 'exhausted' })).toBe(1);
    expect(moved(exhausted, 'recoup_retry_processing_seconds_count', { result: 'failed' })).toBe(3);
    // The payment was closed when the retries gave up.
    expect(value(exhausted, 'recoup_payments', { status: 'CANCELLED' })).toBe(1);
  });

  it('counts an open reconciliation finding once however many runs find it, and not once its alert is resolved', async () => {
    const scenario = await ReconciliationScenario.create(h.app, new LocalStripe(h.stripe));
    const now = clock().now();
    scenario.payment({ status: 'SUCCEEDED', createdAt: new Date(now.getTime() - 86_400_000), intent: { status: 'canceled' } });
    await scenario.flush();
    h.stripe.markEventsDelivered();
    clock().advance(MIN);
    const RUN = `mutation { runReconciliation(wait: true) { status outOfSync } }`;
    expect(must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation).toEqual({ status: 'SUCCEEDED', outOfSync: 1 });
    clock().advance(MIN);
    expect(must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation).toEqual({ status: 'SUCCEEDED', outOfSync: 1 });

    const open = await scrape();
    expect(value(open, 'recoup_reconciliation_open_findings', { type: 'PAYMENT_OUT_OF_SYNC' })).toBe(1);
    expect(value(open, 'recoup_reconciliation_open_findings', { type: 'STUCK_AUTHORIZATION' })).toBe(0);

    const alerts = must(await h.gql(`{ alerts(filter: { types: [PAYMENT_OUT_OF_SYNC] }) { edges { node { id } } } }`));
    expect(alerts.alerts.edges).toHaveLength(1);
    must(await h.gql(`mutation($id: ID!) { resolveAlert(id: $id, note: "fixed at Stripe") { id } }`, { id: alerts.alerts.edges[0].node.id }, { token: h.tokens.operator }));
    expect(value(await scrape(), 'recoup_reconciliation_open_findings', { type: 'PAYMENT_OUT_OF_SYNC' })).toBe(0);
  });

  it('answers with the last figures, and counts the failure, when the database does not answer in time', async () => {
    const { customerId, planId } = await seedCatalog(h);
    await createPayment(h, customerId, planId);
    const before = await scrape();
    expect(value(before, 'recoup_payments', { status: 'PENDING' })).toBe(1);
    const failures = value(before, 'recoup_business_metrics_collect_failures_total') ?? 0;

    // Another session holds the counters locked: the scrape's read waits, then its statement timeout ends it.
    const locker = new Client({ connectionString: h.database.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table payment_counters in access exclusive mode');
      const stale = await scrape();
      expect(value(stale, 'recoup_payments', { status: 'PENDING' })).toBe(1);
      await eventually(async () => (value(await scrape(), 'recoup_business_metrics_collect_failures_total') ?? 0) > failures, 10_000, 100);
      await locker.query('rollback');
    } finally {
      await locker.end();
    }
    const fresh = await scrape();
    expect(value(fresh, 'recoup_business_metrics_collected_timestamp_seconds')!).toBeGreaterThanOrEqual(value(before, 'recoup_business_metrics_collected_timestamp_seconds')!);
    expect(value(fresh, 'recoup_payments', { status: 'PENDING' })).toBe(1);
  });

  it('reads no big table at a scrape: on a populated database no statement it runs plans a Seq Scan on one', async () => {
    const { planId, bundleId, customerId } = await seedCatalog(h);
    const sql = (query: string, params: unknown[] = []) => h.app.services.db.fork().execute(query, params);
    const N = 20_000;
    // What piles up (paid and delivered payments, applied events, finished retry jobs, resolved alerts and their findings)
    // and a few rows that still need work.
    await sql(`insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, paid_at, created_at, updated_at)
      select gen_random_uuid(), ?, ?, ?, 2500, 'usd', case when i % 10 = 0 then 'REFUNDED' else 'SUCCEEDED' end, now(), now(), now() from generate_series(1, ?) i`, [customerId, planId, bundleId, N]);
    await sql(`insert into deliveries (payment_id, status, paid_at, delivered_at, created_at, updated_at)
      select id, case when row_number() over () <= 5 then 'PENDING' else 'DELIVERED' end, now(), now(), now(), now() from payments`);
    await sql(`insert into gateway_events (id, gateway, event_id, type, payload, received_at, processed_at, created_at, updated_at)
      select gen_random_uuid(), 'stripe', 'evt_seed_' || i, 'payment_intent.succeeded', '{}', now(), case when i > 5 then now() end, now(), now() from generate_series(1, ?) i`, [N]);
    await sql(`insert into retry_jobs (id, payment_id, customer_id, origin, status, amount_minor, currency, priority, reason)
      select gen_random_uuid(), p.id, p.customer_id, 'QUEUED', case when row_number() over () <= 3 then 'QUEUED' else 'EXHAUSTED' end, 2500, 'usd', 2500, 'INSUFFICIENT_FUNDS'
        from (select id, customer_id from payments limit ?) p`, [N / 4]);
    await sql(`insert into alerts (id, type, severity, title, detail, fingerprint, first_seen_at, last_seen_at, resolved_at)
      select gen_random_uuid(), 'PAYMENT_OUT_OF_SYNC', 'HIGH', 't', 'd', 'seed:' || i, now(), now(), case when i > 5 then now() end from generate_series(1, ?) i`, [N]);
    const [run] = await sql(`insert into reconciliation_runs (id, trigger, window_start, window_end, started_at, heartbeat_at) values (gen_random_uuid(), 'seed', now(), now(), now(), now()) returning id`);
    await sql(`insert into reconciliation_findings (id, run_id, type, subject_type, subject_id, detail, action, alert_id)
      select gen_random_uuid(), ?, 'PAYMENT_OUT_OF_SYNC', 'payment', a.id::text, 'd', 'alerted', a.id from alerts a`, [run.id]);
    for (const table of ['payments', 'payment_counters', 'deliveries', 'delivery_counters', 'gateway_events', 'retry_jobs', 'alerts', 'reconciliation_findings']) await sql(`analyze ${table}`);

    // The statements a scrape runs, recorded as they run; then each one's plan.
    const statements: string[] = [];
    const em = h.app.services.db.fork();
    const figures = await collectBusinessFigures({ execute: ((query: string) => (statements.push(query), em.execute(query))) as typeof em.execute }, h.app.services.alerts, () => clock().now());
    expect(figures).toMatchObject({ inboxUnapplied: 5, deliveries: { PENDING: 5, DELIVERED: N - 5 }, payments: { SUCCEEDED: N - N / 10 + 0, REFUNDED: N / 10 }, openFindings: { PAYMENT_OUT_OF_SYNC: 5 } });
    expect(figures.retryJobs).toContainEqual({ status: 'QUEUED', reason: 'INSUFFICIENT_FUNDS', n: 3 });
    expect(statements.length).toBeGreaterThanOrEqual(7);
    for (const statement of statements) {
      const plan = (await sql(`explain ${statement}`)).map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect({ statement, plan }).toEqual({ statement, plan: expect.not.stringMatching(/Seq Scan on (payments|deliveries|gateway_events|retry_jobs|alerts|reconciliation_findings)\b/) });
    }
  });
});
