import { Alert } from '../../src/alerts/alert.entity';
import { AlertType } from '../../src/alerts/alert.types';
import { Payment } from '../../src/payments/payment.entity';
import { PaymentStatus } from '../../src/payments/payment-status';
import { FindingType, ReconciliationFinding } from '../../src/reconciliation/reconciliation-finding.entity';
import { startFakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { ManualClock as ManualClockImpl, type ManualClock } from '../../src/platform/shared/clock';
import { must } from '../support/fixtures';
import { WEBHOOK_SECRET, startHarness, type Harness } from '../support/harness';
import { addCleanPopulation, plantDiscrepancies, plantMissedWebhooks, plantPayouts, type Planted } from '../support/reconciliation-plant';
import { LocalStripe, ReconciliationScenario } from '../support/reconciliation-seed';

const CLEAN = 2000;
const PER_TYPE = 6;
const RUN = `mutation { runReconciliation(wait: true) { id status apiCalls rateLimited paymentsChecked outOfSync stuckAuthorizations failedPayouts missingPayments unknownGatewayPayments noShowsReleased missedWebhooks alertsRaised alertsResolved errors } }`;
const operator = { id: 'operator:olga-operator' };

/**
 * The planted-discrepancy suite: a few thousand payments that agree with Stripe, plus a handful
 * of each kind of discrepancy planted in our rows or in the fake Stripe. Every planted one must be
 * found exactly once and nothing else; a second run raises nothing new; what gets fixed resolves.
 */
describe('nightly reconciliation against Stripe', () => {
  let h: Harness;
  let clock: ManualClock;
  let planted: Planted[];
  let firstRun: Record<string, any>;

  const findingsOf = async (runId: string) => {
    const rows = await h.app.services.db.fork().find(ReconciliationFinding, { run: runId });
    return rows.map((f) => ({ type: f.type, subjectId: f.subjectId, newAlert: f.newAlert, action: f.action }));
  };
  const key = (f: { type: string; subjectId: string }) => `${f.type} ${f.subjectId}`;
  const openAlerts = () => h.app.services.db.fork().count(Alert, { resolvedAt: null });

  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: { RECONCILIATION_MAX_RPS: '100', RECONCILIATION_CONCURRENCY: '4' } });
    clock = h.clock as ManualClock;
    const now = clock.now();
    const scenario = await ReconciliationScenario.create(h.app, new LocalStripe(h.stripe));
    const succeeded = addCleanPopulation(scenario, now, CLEAN);
    planted = plantDiscrepancies(scenario, now, PER_TYPE, succeeded);
    planted.push(...(await plantPayouts(scenario, now, PER_TYPE)));
    h.stripe.markEventsDelivered();
    planted.push(...(await plantMissedWebhooks(scenario, now, PER_TYPE)));
    await scenario.flush();
    // The last events were recorded at `now`; the window ends at the run's start.
    clock.advance(60_000);
    firstRun = must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation;
  }, 120_000);
  afterAll(async () => h?.close());

  it('finds every planted discrepancy exactly once and nothing else', async () => {
    const found = await findingsOf(firstRun.id);
    expect(found.map(key).sort()).toEqual(planted.map(key).sort());
    expect(firstRun).toMatchObject({
      status: 'SUCCEEDED', errors: [], outOfSync: PER_TYPE, stuckAuthorizations: PER_TYPE, failedPayouts: PER_TYPE,
      missingPayments: PER_TYPE, unknownGatewayPayments: PER_TYPE, noShowsReleased: PER_TYPE, missedWebhooks: PER_TYPE,
    });
    // Every intent in the window: the clean ones that have one (some payments never reached Stripe) and the planted ones.
    expect(firstRun.paymentsChecked).toBe(h.stripe.store.paymentIntents.size);
  });

  it('uses list endpoints only: a few calls per hundred payments', async () => {
    const retrieves = h.stripe.requests.filter((r) => r.method === 'GET' && /^\/v1\/payment_intents\/[^/]+$/.test(r.path)).length;
    expect(retrieves).toBe(0);
    // ~CLEAN/100 pages, plus a partial page per range (16), payouts, events, and one cancel per no-show.
    expect(firstRun.apiCalls).toBeLessThanOrEqual(Math.ceil((CLEAN + 5 * PER_TYPE) / 100) + 16 + 2 + PER_TYPE + 4);
    const lists = h.stripe.requests.filter((r) => r.method === 'GET' && r.path === '/v1/payment_intents');
    expect(lists.every((r) => r.body.limit === '100')).toBe(true);
  });

  it('raises one alert per finding (one for all missed webhooks) and repairs what is safe to repair', async () => {
    const types = [AlertType.PAYMENT_OUT_OF_SYNC, AlertType.STUCK_AUTHORIZATION, AlertType.FAILED_PAYOUT, AlertType.MISSING_PAYMENT, AlertType.UNKNOWN_GATEWAY_PAYMENT, AlertType.NO_SHOW_AUTO_RELEASED];
    const em = h.app.services.db.fork();
    for (const type of types) expect(await em.count(Alert, { type, resolvedAt: null })).toBe(PER_TYPE);
    expect(await em.count(Alert, { type: AlertType.MISSED_WEBHOOKS })).toBe(1);
    expect(firstRun.alertsRaised).toBe(types.length * PER_TYPE + 1);

    const released = planted.filter((p) => p.type === FindingType.NO_SHOW_AUTO_RELEASED).map((p) => p.subjectId);
    const payments = await em.find(Payment, { id: { $in: released } });
    expect(payments.map((p) => p.status)).toEqual(released.map(() => PaymentStatus.CANCELLED));
    for (const p of payments) expect(h.stripe.store.paymentIntents.get(p.stripePaymentIntentId!).status).toBe('canceled');
    expect(h.stripe.requests.filter((r) => r.path.endsWith('/cancel')).map((r) => r.idempotencyKey).sort()).toEqual(released.map((id) => `release:${id}`).sort());

    const replayed = await em.count(Payment, { status: PaymentStatus.SUCCEEDED, stripePaymentIntentId: { $in: planted.filter((p) => p.type === FindingType.MISSED_WEBHOOK).map((p) => String(h.stripe.store.events.get(p.subjectId).data.object.id)) } });
    expect(replayed).toBe(PER_TYPE);
  });

  it('raises no new alert on a second run, and finds only the conditions still true', async () => {
    const before = await openAlerts();
    clock.advance(60_000);
    const second = must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation;
    expect(second).toMatchObject({ status: 'SUCCEEDED', alertsRaised: 0, alertsResolved: 0, noShowsReleased: 0, missedWebhooks: 0, failedPayouts: 0 });
    const found = await findingsOf(second.id);
    expect(found.every((f) => !f.newAlert)).toBe(true);
    const stillTrue = [FindingType.PAYMENT_OUT_OF_SYNC, FindingType.STUCK_AUTHORIZATION, FindingType.UNKNOWN_GATEWAY_PAYMENT, FindingType.MISSING_PAYMENT];
    expect(found.map(key).sort()).toEqual(planted.filter((p) => stillTrue.includes(p.type)).map(key).sort());
    expect(await openAlerts()).toBe(before);
  });

  it('resolves the alert of each discrepancy that was fixed (at once when an operator fixed it), with a note, and keeps the rest', async () => {
    const { paymentOperations } = h.app.services;
    const of = (type: FindingType) => planted.filter((p) => p.type === type);
    const syncable = of(FindingType.PAYMENT_OUT_OF_SYNC).filter((p) => !['ours SUCCEEDED, Stripe canceled', 'ours SUCCEEDED, Stripe never paid'].includes(p.variant));
    for (const p of syncable) await paymentOperations.syncPaymentWithGateway(operator, p.subjectId);
    const [stuck] = of(FindingType.STUCK_AUTHORIZATION);
    await paymentOperations.capturePayment(operator, stuck.subjectId);
    const [unknown] = of(FindingType.UNKNOWN_GATEWAY_PAYMENT);
    await h.stripe.refundCharge(unknown.subjectId, {}, { sendWebhooks: false });
    const [missing] = of(FindingType.MISSING_PAYMENT);
    await h.app.services.db.fork().execute(`update subscriptions set status = 'LAPSED', lapsed_at = now() where id = ?`, [missing.subjectId]);
    h.stripe.markEventsDelivered();

    // The operator's sync and capture ended their alerts' conditions: resolved on the spot, by them.
    const byOperator = [...syncable, stuck];
    const resolvedNow = await h.app.services.db.fork().find(Alert, { resolvedAt: { $ne: null } });
    expect(resolvedNow.map((a) => a.subjectId).sort()).toEqual(byOperator.map((p) => p.subjectId).sort());
    expect(resolvedNow.every((a) => a.resolvedBy === 'system:payment-operations' && /^(synced|captured) by operator:olga-operator/.test(a.resolutionNote ?? ''))).toBe(true);

    clock.advance(20 * 60_000);
    const third = must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation;
    const fixed = [...byOperator, unknown, missing];
    expect(third).toMatchObject({ status: 'SUCCEEDED', alertsRaised: 0, alertsResolved: 2 });
    const byRun = await h.app.services.db.fork().find(Alert, { resolvedBy: 'system:reconciliation' });
    expect(byRun.map((a) => a.subjectId).sort()).toEqual([unknown, missing].map((p) => p.subjectId).sort());
    expect(byRun.every((a) => a.resolutionNote?.includes(`Reconciliation run ${third.id}`))).toBe(true);
    expect(await openAlerts()).toBe(6 * PER_TYPE + 1 - fixed.length);
  });

  it('answers outOfSyncPayments, stuckAuthorizations, failedPayouts and the runs over GraphQL', async () => {
    const data = must(await h.gql(`{
      outOfSyncPayments(first: 10) { totalCount edges { node { gatewayStatus payment { id status } alert { severity } } } }
      stuckAuthorizations(first: 10) { totalCount edges { node { captureBefore payment { id status } } } }
      failedPayouts(first: 10) { totalCount edges { node { stripePayoutId status failureCode amountMinor } } }
      reconciliationRuns(first: 5) { totalCount edges { node { id status findings(first: 3, type: MISSING_PAYMENT) { totalCount } } } }
    }`, {}, { token: h.tokens.viewer }));
    expect(data.outOfSyncPayments.totalCount).toBe(2);
    expect(data.outOfSyncPayments.edges.map((e: any) => e.node.gatewayStatus).sort()).toEqual(['canceled', 'requires_payment_method']);
    expect(data.stuckAuthorizations.totalCount).toBe(PER_TYPE - 1);
    expect(data.stuckAuthorizations.edges.every((e: any) => e.node.captureBefore && e.node.payment.status === 'AUTHORIZED')).toBe(true);
    expect(data.failedPayouts.totalCount).toBe(PER_TYPE);
    expect(data.failedPayouts.edges[0].node).toMatchObject({ status: 'failed', failureCode: 'account_closed' });
    expect(data.reconciliationRuns.totalCount).toBe(3);
    expect(data.reconciliationRuns.edges.map((e: any) => e.node.findings.totalCount)).toEqual([PER_TYPE - 1, PER_TYPE, PER_TYPE]);
  });

  it('refuses a second run while one is in progress', async () => {
    const started = must(await h.gql(`mutation { runReconciliation { id status } }`, {}, { token: h.tokens.operator })).runReconciliation;
    expect(started.status).toBe('RUNNING');
    const again = await h.gql(`mutation { runReconciliation { id } }`, {}, { token: h.tokens.operator });
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
    await h.app.services.reconciliation.stop();
  });
});

describe('reconciliation against a rate-limited Stripe', () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
    await h?.stripe.close();
  });

  it('honours 429s (backs off, retries the page) and still finds exactly what was planted', async () => {
    const clock = new ManualClockImpl();
    const stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET, clock, rateLimitPerSecond: 8 });
    h = await startHarness({ clock, stripe, env: { RECONCILIATION_MAX_RPS: '100', RECONCILIATION_CONCURRENCY: '4', RECONCILIATION_MAX_RETRIES: '10' } });
    const now = clock.now();
    const scenario = await ReconciliationScenario.create(h.app, new LocalStripe(stripe));
    const succeeded = addCleanPopulation(scenario, now, 600);
    const planted = plantDiscrepancies(scenario, now, 2, succeeded);
    await scenario.flush();
    clock.advance(60_000);
    const run = must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation;
    expect(run).toMatchObject({ status: 'SUCCEEDED', errors: [] });
    expect(run.rateLimited).toBeGreaterThan(0);
    const found = await h.app.services.db.fork().find(ReconciliationFinding, { run: run.id });
    expect(found.map((f) => `${f.type} ${f.subjectId}`).sort()).toEqual(planted.map((p) => `${p.type} ${p.subjectId}`).sort());
  }, 60_000);
});
