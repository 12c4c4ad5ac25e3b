import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const MINUTE = 60_000;
const TRAIL = `query($id: ID!, $type: String) { auditTrail(subject: $id, subjectType: $type) { totalCount edges { node { actor action subjectType subjectId before after note requestId } } } }`;

/** forceCleanup and runReconciliation are operator actions: each run leaves one audit entry, with who asked and what it did. */
describe('audit of operator-run jobs', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const trail = async (id: string, type?: string) => must(await h.gql(TRAIL, { id, type }, { token: h.tokens.viewer })).auditTrail;

  it('forceCleanup: one cleanup.run entry by the operator with the run counts', async () => {
    const { customerId, planId } = await seedCatalog(h);
    await createPayment(h, customerId, planId);
    clock.advance(31 * MINUTE);

    const result = must(await h.gql(`mutation { forceCleanup { runId expired foundPaid errors refundsRetried } }`, {}, { token: h.tokens.operator })).forceCleanup;
    expect(result).toMatchObject({ expired: 1, foundPaid: 0, errors: 0, refundsRetried: 0 });

    const entries = await trail(result.runId, 'cleanup_run');
    expect(entries.totalCount).toBe(1);
    const [entry] = entries.edges.map((e: any) => e.node);
    expect(entry).toMatchObject({
      actor: 'operator:olga-operator',
      action: 'cleanup.run',
      subjectType: 'cleanup_run',
      subjectId: result.runId,
      after: { trigger: 'operator', customerId: null, expired: 1, foundPaid: 0, errors: 0, refundsRetried: 0 },
    });
    expect(entry.requestId).toEqual(expect.any(String));

    // A run that finds nothing is still an action on record, once.
    const second = must(await h.gql(`mutation { forceCleanup { runId expired } }`, {}, { token: h.tokens.operator })).forceCleanup;
    expect((await trail(second.runId)).edges.map((e: any) => e.node)).toEqual([expect.objectContaining({ action: 'cleanup.run', after: expect.objectContaining({ expired: 0 }) })]);
  });

  it('the scheduled cleanup is not an operator action and writes no cleanup.run entry', async () => {
    const { customerId, planId } = await seedCatalog(h);
    await createPayment(h, customerId, planId);
    clock.advance(31 * MINUTE);
    const report = await h.app.services.staleCleanup.run({ id: 'system:payments:cleanup-stale' }, 'job');
    expect(report.expired).toBe(1);
    expect((await trail(report.runId)).totalCount).toBe(0);
  });

  it('runReconciliation (wait): one reconciliation.run entry by the operator with the status and counts', async () => {
    // Something for the run to find: a payout that failed at Stripe and whose webhook never came.
    await h.stripe.createPayout({ status: 'failed', amount: 7_700 }, { sendWebhooks: false });
    clock.advance(MINUTE);

    const run = must(await h.gql(`mutation { runReconciliation(wait: true) { id status failedPayouts payoutStatusChanges alertsRaised paymentsChecked } }`, {}, { token: h.tokens.operator })).runReconciliation;
    expect(run).toMatchObject({ status: 'SUCCEEDED', failedPayouts: 1, payoutStatusChanges: 0, alertsRaised: 1 });

    const entries = await trail(run.id, 'reconciliation_run');
    expect(entries.totalCount).toBe(1);
    expect(entries.edges[0].node).toMatchObject({
      actor: 'operator:olga-operator',
      action: 'reconciliation.run',
      subjectId: run.id,
      before: { status: 'RUNNING' },
      after: { status: 'SUCCEEDED', failedPayouts: 1, alertsRaised: 1, paymentsChecked: run.paymentsChecked, errors: 0 },
      note: null,
    });
  });

  it('runReconciliation in the background: the one entry is written when the run ends, with its final counts', async () => {
    const started = must(await h.gql(`mutation { runReconciliation { id status } }`, {}, { token: h.tokens.operator })).runReconciliation;
    expect(started.status).toBe('RUNNING');

    const finished = await eventually(async () => {
      const run = must(await h.gql(`query($id: ID!) { reconciliationRun(id: $id) { status missedWebhooks alertsRaised } }`, { id: started.id })).reconciliationRun;
      return run.status !== 'RUNNING' && run;
    }, 15_000);
    const entries = await eventually(async () => {
      const t = await trail(started.id);
      return t.totalCount > 0 && t;
    });
    expect(entries.totalCount).toBe(1);
    expect(entries.edges[0].node).toMatchObject({ actor: 'operator:olga-operator', action: 'reconciliation.run', after: { status: finished.status, missedWebhooks: finished.missedWebhooks, alertsRaised: finished.alertsRaised } });
  });

  it('the nightly job run is not audited as anyone', async () => {
    const run = await h.app.services.reconciliation.run('job');
    expect((await trail(run.id)).totalCount).toBe(0);
  });
});
