import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';
import { must } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

/**
 * payout.failed and payout.canceled through the real webhook route, sent by the fake Stripe: our
 * copy of the payout follows (payouts table, failedPayouts), FAILED_PAYOUT (HIGH) or
 * PAYOUT_CANCELED (MEDIUM) is raised once with the amount and the failure, a stale event never
 * moves a payout back, and the nightly reconciliation does not raise the same failure again.
 */
describe('payout webhooks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const settle = async () => {
    await h.stripe.whenIdle();
    await h.app.services.intake.whenIdle();
  };
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
  const payoutRow = async (id: string) => (await sql(`select status, amount_minor, currency, failure_code, failure_message from payouts where stripe_payout_id = ?`, [id]))[0];
  const alerts = async (type: string) =>
    must(await h.gql(`query($t: [AlertType!]) { alerts(filter: { types: $t }) { edges { node { severity subjectType subjectId title detail occurrences resolvedAt } } } }`, { t: [type] })).alerts.edges.map((e: any) => e.node);
  const failedPayouts = async () => must(await h.gql(`{ failedPayouts { totalCount edges { node { stripePayoutId status amountMinor currency failureCode failureMessage } } } }`, {}, { token: h.tokens.viewer })).failedPayouts;
  const outcomes = async (payoutId: string) =>
    (await sql<{ type: string; outcome: string }>(`select type, outcome from gateway_events where payload->'data'->'object'->>'id' = ? order by received_at, id`, [payoutId])).map((e) => `${e.type} → ${e.outcome}`);
  const redeliver = async (events: FakeEvent[]) => {
    for (const event of events) expect(await h.stripe.sendEvent(event)).toBe(200);
    await settle();
  };

  it('payout.failed: the payout is failed with its code and message, listed in failedPayouts, FAILED_PAYOUT (HIGH) once', async () => {
    const { payout, events } = await h.stripe.createPayout({ status: 'failed', amount: 7_700, failure_code: 'account_closed', failure_message: 'The bank account has been closed.' });
    await settle();
    expect(events.map((e) => e.type)).toEqual(['payout.failed']);

    expect(await payoutRow(payout.id)).toEqual({ status: 'failed', amount_minor: 7_700, currency: 'usd', failure_code: 'account_closed', failure_message: 'The bank account has been closed.' });
    expect(await failedPayouts()).toEqual({
      totalCount: 1,
      edges: [{ node: { stripePayoutId: payout.id, status: 'failed', amountMinor: 7_700, currency: 'usd', failureCode: 'account_closed', failureMessage: 'The bank account has been closed.' } }],
    });
    const [alert] = await alerts('FAILED_PAYOUT');
    expect(alert).toMatchObject({ severity: 'HIGH', subjectType: 'payout', subjectId: payout.id, title: 'Payout failed: 7700 USD', occurrences: 1, resolvedAt: null });
    expect(alert.detail).toContain('account_closed — The bank account has been closed.');
    expect(await outcomes(payout.id)).toEqual([`payout.failed → payout.failed: payout ${payout.id} recorded failed, alert raised`]);

    // Redelivered: nothing twice.
    await redeliver(events);
    expect((await alerts('FAILED_PAYOUT'))[0].occurrences).toBe(1);
    expect((await failedPayouts()).totalCount).toBe(1);
  });

  it('a paid payout the bank returns later: paid, then failed with FAILED_PAYOUT; a stale payout.paid does not undo it; reconciliation raises nothing more', async () => {
    const { payout, events: paidEvents } = await h.stripe.createPayout({ status: 'paid', amount: 4_200 });
    await settle();
    expect(await payoutRow(payout.id)).toMatchObject({ status: 'paid', failure_code: null });
    expect(await alerts('FAILED_PAYOUT')).toEqual([]);
    expect((await failedPayouts()).totalCount).toBe(0);

    const { events } = await h.stripe.movePayout(payout.id, 'failed', { code: 'no_account', message: 'The bank account details on file are probably incorrect.' });
    await settle();
    expect(events.map((e) => e.type)).toEqual(['payout.updated', 'payout.failed']);

    expect(await payoutRow(payout.id)).toMatchObject({ status: 'failed', failure_code: 'no_account' });
    expect(await alerts('FAILED_PAYOUT')).toEqual([expect.objectContaining({ severity: 'HIGH', subjectId: payout.id, title: 'Payout failed: 4200 USD', occurrences: 1 })]);
    expect(await outcomes(payout.id)).toEqual([
      `payout.paid → payout.paid: payout ${payout.id} recorded paid`,
      `payout.updated → payout.updated: payout ${payout.id} paid -> failed, alert raised`,
      `payout.failed → payout.failed: payout ${payout.id} no change: failed`,
    ]);

    // The paid event again, late: a webhook snapshot only moves a payout forward.
    await redeliver(paidEvents.map((e) => ({ ...e, id: `${e.id}_late` })));
    expect(await payoutRow(payout.id)).toMatchObject({ status: 'failed' });

    // The nightly run lists the payout failed at Stripe: known already, so no new finding or alert.
    const run = must(await h.gql(`mutation { runReconciliation(wait: true) { status failedPayouts payoutStatusChanges } }`, {}, { token: h.tokens.operator })).runReconciliation;
    expect(run).toEqual({ status: 'SUCCEEDED', failedPayouts: 0, payoutStatusChanges: 0 });
    expect(await alerts('FAILED_PAYOUT')).toEqual([expect.objectContaining({ subjectId: payout.id, occurrences: 1, resolvedAt: null })]);
  });

  it('payout.canceled: the payout is canceled, PAYOUT_CANCELED (MEDIUM) once, and it is not a failed payout', async () => {
    const { payout } = await h.stripe.createPayout({ status: 'pending', amount: 1_250 });
    const { events } = await h.stripe.movePayout(payout.id, 'canceled');
    await settle();
    expect(events.map((e) => e.type)).toEqual(['payout.updated', 'payout.canceled']);

    expect(await payoutRow(payout.id)).toMatchObject({ status: 'canceled', amount_minor: 1_250, failure_code: null });
    const canceled = await alerts('PAYOUT_CANCELED');
    expect(canceled).toEqual([expect.objectContaining({ severity: 'MEDIUM', subjectType: 'payout', subjectId: payout.id, title: 'Payout canceled: 1250 USD', occurrences: 1 })]);
    expect(canceled[0].detail).toContain(`Payout ${payout.id} of 1250 USD`);
    expect(await alerts('FAILED_PAYOUT')).toEqual([]);
    expect((await failedPayouts()).totalCount).toBe(0);

    await redeliver(events);
    expect((await alerts('PAYOUT_CANCELED'))[0].occurrences).toBe(1);
  });
});
