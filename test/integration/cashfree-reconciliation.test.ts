import { Alert } from '../../src/alerts/alert.entity';
import { Payout } from '../../src/reconciliation/payout.entity';
import { ReconciliationFinding } from '../../src/reconciliation/reconciliation-finding.entity';
import type { ManualClock } from '../../src/platform/shared/clock';
import { must } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * Cashfree payments kept in line with Cashfree as Stripe's are with Stripe: the operator's
 * syncPaymentWithGateway reads the order and its refunds through, and the nightly reconciliation
 * lists Cashfree's PG reconciliation and settlements (cursor-paged) against our payments and
 * payouts. The real server, the real cashfree-pg SDK, the fake Cashfree over HTTP, a manual clock
 * (the reconciliation leaves alone what changed in its last 15 minutes).
 */
const PAYMENT = `id status refundedMinor deliveryStatus`;
const SYNC = `mutation($id: ID!) { syncPaymentWithGateway(paymentId: $id) { ${PAYMENT} } }`;
const RUN = `mutation { runReconciliation(wait: true) { id status errors paymentsChecked outOfSync failedPayouts payoutStatusChanges missingPayments unknownGatewayPayments missedWebhooks alertsRaised alertsResolved } }`;
const GRACE_MS = 20 * 60_000;

describe('Cashfree: operator sync and nightly reconciliation', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    h = await startHarness({ cashfree: true, clock: 'manual' });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const cashfree = () => h.cashfree!;
  const em = () => h.app.services.db.fork();

  async function checkout(): Promise<string> {
    const channel = must(await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: `-100${Math.floor(Math.random() * 1e10)}`, title: 'Signals' } })).createChannel.id;
    const bundleId = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Pro bundle', channelIds: [channel] } })).createBundle.id;
    const planId = must(await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, { i: { bundleId, name: 'Pro monthly', amountMinor: 1999, currency: 'inr', durationDays: 30, gateway: 'CASHFREE' } })).createPlan.id;
    const customerId = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'Dana', phone: '+919876543210', telegramUserId: String(Math.floor(Math.random() * 1e9)) } })).createCustomer.id;
    return must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { payment { id } } }`, { i: { customerId, planId } }, { token: h.tokens.operator })).createPayment.payment.id;
  }

  const payment = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { ${PAYMENT} } }`, { id })).payment;
  const sync = async (id: string) => must(await h.gql(SYNC, { id }, { token: h.tokens.operator })).syncPaymentWithGateway;
  const run = async () => {
    const result = must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation;
    expect(result).toMatchObject({ status: 'SUCCEEDED', errors: [] });
    return result;
  };
  const openAlerts = async () => em().find(Alert, { resolvedAt: null });
  const findings = async (runId: string) => (await em().find(ReconciliationFinding, { run: runId })).map((f) => ({ type: f.type, subjectId: f.subjectId, action: f.action }));
  const audit = async (id: string) => must(await h.gql(`query($id: ID!) { auditTrail(first: 50, subject: $id) { edges { node { action after note } } } }`, { id })).auditTrail.edges.map((e: any) => e.node);

  async function paid(): Promise<string> {
    const id = await checkout();
    expect((await cashfree().pay(id, 'success')).delivery).toMatchObject({ ok: true });
    await eventually(async () => (await payment(id)).deliveryStatus === 'DELIVERED');
    return id;
  }

  /** A refund made in Cashfree's dashboard and processed, its webhook never sent. */
  function refundAtCashfree(orderId: string, rupees: number, refundId = `dash${Math.floor(Math.random() * 1e9)}`) {
    cashfree().engine.createRefund(orderId, { refund_id: refundId, refund_amount: rupees });
    return cashfree().engine.settleRefund(refundId, 'SUCCESS').refund;
  }

  describe('syncPaymentWithGateway on a Cashfree payment', () => {
    it('an order paid whose webhook was lost: SUCCEEDED and delivered, audited; a second sync changes nothing', async () => {
      const id = await checkout();
      await cashfree().pay(id, 'success', { sendWebhook: false });
      expect((await payment(id)).status).toBe('PENDING');
      expect(await sync(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0 });
      await eventually(async () => (await payment(id)).deliveryStatus === 'DELIVERED');
      expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);

      expect(await sync(id)).toMatchObject({ status: 'SUCCEEDED' });
      const entries = await audit(id);
      const syncs = entries.filter((a: any) => a.action === 'payment.sync');
      expect(syncs).toHaveLength(2);
      expect(syncs.map((a: any) => a.note).join(' | ')).toMatch(/PENDING -> SUCCEEDED/);
      expect(entries.filter((a: any) => a.action === 'payment.transition' && a.after?.status === 'SUCCEEDED')).toHaveLength(1);
      expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
      expect(cashfree().countRequests('GET', new RegExp(`^/orders/${id}$`))).toBeGreaterThanOrEqual(2);
    });

    it('refunds made at Cashfree: the processed total is recorded (partial, then REFUNDED); a pending one is not', async () => {
      const id = await paid();
      refundAtCashfree(id, 5);
      cashfree().engine.createRefund(id, { refund_id: 'stillpending1', refund_amount: 1 });
      expect(await sync(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 500 });
      refundAtCashfree(id, 13.99);
      expect(await sync(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1899 });
      cashfree().engine.settleRefund('stillpending1', 'SUCCESS');
      expect(await sync(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 1999 });
      expect(await sync(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 1999 });
    });

    it('an order Cashfree expired: the pending payment is EXPIRED', async () => {
      const id = await checkout();
      cashfree().engine.orders.get(id)!.expiresAt = new Date(clock.now().getTime() - 1000);
      expect(await sync(id)).toMatchObject({ status: 'EXPIRED' });
      expect((await audit(id)).find((a: any) => a.action === 'payment.sync')).toMatchObject({ after: { status: 'EXPIRED' } });
    });

    it('capture and release still refuse a Cashfree payment (CONFLICT)', async () => {
      const id = await paid();
      const capture = await h.gql(`mutation($id: ID!) { capturePayment(paymentId: $id) { status } }`, { id }, { token: h.tokens.operator });
      expect(capture.errors?.[0].extensions?.code).toBe('CONFLICT');
      const release = await h.gql(`mutation($id: ID!) { releaseAuthorization(paymentId: $id, reason: "x") { status } }`, { id }, { token: h.tokens.operator });
      expect(release.errors?.[0].extensions?.code).toBe('CONFLICT');
    });
  });

  describe('the nightly reconciliation', () => {
    it('a missed payment webhook waits out the grace period, then is repaired by a sync with one MISSED_WEBHOOKS alert for the endpoint; the next run finds nothing', async () => {
      const id = await checkout();
      // Created long ago, paid just now: the payment's webhook may be on its way.
      clock.advance(GRACE_MS);
      await cashfree().pay(id, 'success', { sendWebhook: false });
      clock.advance(60_000);
      const early = await run();
      expect(early).toMatchObject({ missedWebhooks: 0, outOfSync: 0, unknownGatewayPayments: 0, paymentsChecked: 1 });
      expect((await payment(id)).status).toBe('PENDING');

      clock.advance(GRACE_MS);
      const first = await run();
      expect(first).toMatchObject({ missedWebhooks: 1, outOfSync: 0, missingPayments: 0, paymentsChecked: 1, alertsRaised: 1 });
      const [endpoint] = (await openAlerts()).filter((a) => a.type === 'MISSED_WEBHOOKS');
      expect(endpoint).toMatchObject({ subjectType: 'webhook_endpoint', subjectId: 'cashfree', severity: 'MEDIUM' });
      expect(endpoint.title).toBe("Cashfree's webhooks for 1 order(s) did not arrive; the reconciliation synced them");
      expect(await findings(first.id)).toEqual([{ type: 'MISSED_WEBHOOK', subjectId: id, action: 'synced' }]);
      expect((await payment(id)).status).toBe('SUCCEEDED');
      await eventually(async () => (await payment(id)).deliveryStatus === 'DELIVERED');
      expect((await audit(id)).filter((a: any) => a.action === 'payment.sync')).toHaveLength(1);

      clock.advance(GRACE_MS);
      const second = await run();
      expect(second).toMatchObject({ missedWebhooks: 0, outOfSync: 0, alertsRaised: 0 });
      expect(await findings(second.id)).toEqual([]);
    });

    it('a refund made at Cashfree whose webhook was lost is recorded; ours ahead of Cashfree is alerted until Cashfree agrees, then resolved', async () => {
      const repaired = await paid();
      const ahead = await paid();
      refundAtCashfree(repaired, 19.99);
      // Ours says 5.00 went back; Cashfree has no refund of that order.
      await em().execute(`update payments set refunded_minor = 500 where id = ?`, [ahead]);
      clock.advance(GRACE_MS);
      const first = await run();
      expect(first).toMatchObject({ missedWebhooks: 1, outOfSync: 1 });
      expect((await findings(first.id)).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
        { type: 'MISSED_WEBHOOK', subjectId: repaired, action: 'synced' },
        { type: 'PAYMENT_OUT_OF_SYNC', subjectId: ahead, action: 'alerted' },
      ]);
      expect(await payment(repaired)).toMatchObject({ status: 'REFUNDED', refundedMinor: 1999 });
      const alert = (await openAlerts()).find((a) => a.type === 'PAYMENT_OUT_OF_SYNC')!;
      expect(alert).toMatchObject({ subjectId: ahead });
      expect(alert.title).toMatch(/Cashfree/);
      expect(alert.title).not.toMatch(/Stripe/);
      expect(alert.detail).toMatch(/refunded 500 in our records but 0 at Cashfree/);
      const issues = must(await h.gql(`{ outOfSyncPayments(first: 10) { edges { node { gatewayStatus payment { id gateway } } } } }`)).outOfSyncPayments.edges.map((e: any) => e.node);
      expect(issues).toEqual([{ gatewayStatus: 'PAID, 0 refunded', payment: { id: ahead, gateway: 'CASHFREE' } }]);

      clock.advance(GRACE_MS);
      const again = await run();
      expect(again).toMatchObject({ outOfSync: 1, alertsRaised: 0, alertsResolved: 0 });

      refundAtCashfree(ahead, 5);
      clock.advance(GRACE_MS);
      const fixed = await run();
      expect(fixed).toMatchObject({ outOfSync: 0, missedWebhooks: 0, alertsResolved: 1 });
      expect((await openAlerts()).filter((a) => a.type === 'PAYMENT_OUT_OF_SYNC')).toEqual([]);
    });

    it('a payment at Cashfree with no order of ours is UNKNOWN_GATEWAY_PAYMENT, alerted once', async () => {
      const foreign = cashfree().foreignPayment(4250);
      clock.advance(GRACE_MS);
      const first = await run();
      expect(first).toMatchObject({ unknownGatewayPayments: 1, paymentsChecked: 1, alertsRaised: 1 });
      const alert = (await openAlerts()).find((a) => a.type === 'UNKNOWN_GATEWAY_PAYMENT')!;
      expect(alert).toMatchObject({ subjectType: 'cashfree_payment', subjectId: foreign.cfPaymentId, severity: 'CRITICAL' });
      expect(alert.title).toBe('Cashfree payment Recoup has no record of: 4250 INR');
      const second = await run();
      expect(second).toMatchObject({ unknownGatewayPayments: 1, alertsRaised: 0, alertsResolved: 0 });
    });

    it('a payment of ours counted as paid that Cashfree has no payment for is MISSING_PAYMENT; once ours is no longer paid it resolves', async () => {
      const id = await paid();
      // Cashfree never took it: the attempt is gone and the order is still payable.
      const engine = cashfree().engine;
      engine.attempts.splice(0, engine.attempts.length);
      engine.orders.get(id)!.status = 'ACTIVE';
      clock.advance(GRACE_MS);
      const first = await run();
      expect(first).toMatchObject({ missingPayments: 1, outOfSync: 0, paymentsChecked: 0 });
      expect(await findings(first.id)).toEqual([{ type: 'MISSING_PAYMENT', subjectId: id, action: 'alerted' }]);
      const alert = (await openAlerts()).find((a) => a.type === 'MISSING_PAYMENT')!;
      expect(alert).toMatchObject({ subjectType: 'payment', subjectId: id });
      expect(alert.title).toMatch(/Cashfree/);
      // The subscriptions check (MISSING_PAYMENT about subscriptions) does not resolve it.
      expect(await run()).toMatchObject({ missingPayments: 1, alertsResolved: 0 });

      // Paid at Cashfree after all (its list lagged): the next run resolves the alert.
      engine.attempt(id, 'success');
      clock.advance(GRACE_MS);
      expect(await run()).toMatchObject({ missingPayments: 0, alertsResolved: 1 });
      expect((await openAlerts()).filter((a) => a.type === 'MISSING_PAYMENT')).toEqual([]);
    });

    it('settlements are recorded as Cashfree payouts; a failed one raises FAILED_PAYOUT once', async () => {
      await paid();
      const ok = cashfree().settle();
      await paid();
      const failed = cashfree().settle({ status: 'FAILED' });
      clock.advance(GRACE_MS);
      const first = await run();
      expect(first).toMatchObject({ failedPayouts: 1 });
      const payouts = await em().find(Payout, {}, { orderBy: { stripeCreatedAt: 'asc' } });
      expect(payouts.map((p) => ({ id: p.stripePayoutId, gateway: p.gateway, status: p.status, amountMinor: p.amountMinor, currency: p.currency }))).toEqual([
        { id: ok.cfSettlementId, gateway: 'CASHFREE', status: 'paid', amountMinor: 1959, currency: 'inr' },
        { id: failed.cfSettlementId, gateway: 'CASHFREE', status: 'failed', amountMinor: 1959, currency: 'inr' },
      ]);
      const alert = (await openAlerts()).find((a) => a.type === 'FAILED_PAYOUT')!;
      expect(alert).toMatchObject({ subjectType: 'payout', subjectId: failed.cfSettlementId, severity: 'HIGH' });
      expect(alert.title).toBe('Cashfree settlement failed: 1959 INR');
      const listed = must(await h.gql(`{ failedPayouts(first: 10) { edges { node { stripePayoutId gateway status } } } }`));
      expect(listed.failedPayouts?.edges?.map((e: any) => e.node)).toEqual([{ stripePayoutId: failed.cfSettlementId, gateway: 'CASHFREE', status: 'failed' }]);

      const second = await run();
      expect(second).toMatchObject({ failedPayouts: 0, payoutStatusChanges: 0, alertsRaised: 0 });
      expect(await em().count(Alert, { type: 'FAILED_PAYOUT' as any })).toBe(1);
    });

    it('pages through more events than one page holds (cursor paging, limit honoured)', async () => {
      const count = 230;
      for (let i = 0; i < count; i++) cashfree().foreignPayment(100 + i);
      clock.advance(GRACE_MS);
      const first = await run();
      expect(first).toMatchObject({ unknownGatewayPayments: count, paymentsChecked: count });
      const pages = cashfree().requests.filter((r) => r.method === 'POST' && r.path === '/recon');
      expect(pages).toHaveLength(3);
      expect(pages.map((p: any) => p.body.pagination.limit)).toEqual([100, 100, 100]);
      expect(pages[0].body).not.toHaveProperty('pagination.cursor');
      expect((pages[1].body as any).pagination.cursor).toEqual(expect.any(String));
      expect(new Set((await findings(first.id)).map((f) => f.subjectId)).size).toBe(count);
    }, 60_000);
  });
});
