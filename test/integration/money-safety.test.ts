import { GATEWAY_DRIVERS, type GatewayDriver, type GatewayWebhook } from '../support/gateway-drivers';
import { must } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * The money-safety rules, once, against both gateways (issue 15): duplicate and out-of-order
 * webhooks, refund idempotency and over-refunds, and the nightly reconciliation's findings. Each gateway is driven as it really behaves
 * (test/support/gateway-drivers.ts: the fake Stripe and the fake Cashfree over HTTP, signed
 * webhooks into the real server); the assertions are what a user sees through GraphQL, the
 * fake Telegram, the audit trail and the gateway's own record of refunds.
 */
const AMOUNT = 2500;
const PAYMENT = `id gateway status amountMinor refundedMinor deliveryStatus failureCode refunds { id amountMinor status }`;
const REFUND = `mutation($id: ID!, $amount: Int, $reason: String!) {
  refundPayment(paymentId: $id, amountMinor: $amount, reason: $reason) {
    refund { id amountMinor status }
    payment { id status refundedMinor refunds { id amountMinor status } }
  }
}`;

let h: Harness;
beforeAll(async () => {
  // No grace period: what the scenarios leave undelivered is judged by the next run.
  h = await startHarness({ cashfree: true, env: { RECONCILIATION_GRACE_MINUTES: '0' } });
});
afterAll(async () => h?.close());
beforeEach(async () => h.reset());

describe.each(GATEWAY_DRIVERS.map((driver) => [driver.gateway, driver] as const))('money safety on %s', (_name, gw: GatewayDriver) => {
  const payment = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { ${PAYMENT} } }`, { id })).payment;
  const refund = (id: string, amount: number | null, reason = 'customer asked') => h.gql(REFUND, { id, amount, reason }, { token: h.tokens.operator });
  const audit = async (id: string) =>
    must(await h.gql(`query($id: ID!) { auditTrail(first: 100, subject: $id) { edges { node { action before after } } } }`, { id })).auditTrail.edges.map((e: any) => e.node) as Array<{ action: string; before: any; after: any }>;
  /** The payment's status changes in the audit trail, oldest first ('PENDING->SUCCEEDED', …). */
  const transitions = async (id: string) =>
    (await audit(id))
      .filter((a) => a.action === 'payment.transition')
      .map((a) => `${a.before?.status}->${a.after?.status}`)
      .reverse();
  const openAlerts = async () => must(await h.gql(`{ alerts(first: 50, filter: { open: true }) { edges { node { type subjectId } } } }`)).alerts.edges.map((e: any) => e.node.type as string);
  const inviteLinks = () => h.telegram.callsTo('createChatInviteLink');
  const deliverAll = async (webhooks: GatewayWebhook[]) => {
    for (const webhook of webhooks) expect(await gw.deliver(h, webhook)).toBe(200);
  };
  /** Delivery has run to its end (links sent or failed) before anything is counted. */
  const delivered = async (id: string) => {
    const now = await eventually(async () => {
      const p = await payment(id);
      return p.deliveryStatus === 'DELIVERED' ? p : null;
    });
    await h.app.services.dispatcher.whenIdle();
    return now;
  };
  const settledAtGateway = (id: string) => gw.refunds(h, id).filter((r) => r.settled).reduce((sum, r) => sum + r.amountMinor, 0);

  async function pending() {
    const { customerId, planId } = await gw.seed(h, AMOUNT);
    const { id } = await gw.checkout(h, customerId, planId);
    expect(await payment(id)).toMatchObject({ gateway: gw.gateway, status: 'PENDING' });
    return { id, customerId };
  }

  /** A payment the customer paid, its success webhooks delivered once and its links sent. */
  async function paid() {
    const p = await pending();
    await deliverAll(await gw.pay(h, p.id));
    await delivered(p.id);
    return p;
  }

  /** Refunds Recoup asked for, settled by the gateway and their webhooks delivered. */
  async function settleRefunds(id: string) {
    const webhooks = await gw.settleOurRefunds(h, id);
    await deliverAll(webhooks);
    return webhooks;
  }

  describe('duplicate webhooks', () => {
    it('the success webhooks five times at once, then again one by one: one SUCCEEDED transition, one delivery, one set of invite links', async () => {
      const { id, customerId } = await pending();
      const webhooks = await gw.pay(h, id);

      const statuses = await Promise.all(webhooks.flatMap((webhook) => Array.from({ length: 5 }, () => gw.deliver(h, webhook))));
      expect(statuses.every((s) => s === 200)).toBe(true);
      await delivered(id);
      await deliverAll(webhooks);
      await h.app.services.dispatcher.whenIdle();

      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', deliveryStatus: 'DELIVERED', refundedMinor: 0 });
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
      expect(inviteLinks()).toHaveLength(1);
      expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
      const access = must(await h.gql(`query($c: ID!) { customerAccess(customerId: $c) { subscriptions { subscription { status } } } }`, { c: customerId }));
      expect(access.customerAccess.subscriptions).toEqual([{ subscription: { status: 'ACTIVE' } }]);
    });
  });

  describe('out-of-order webhooks', () => {
    // Stripe has no event for a customer who leaves the hosted page (the Checkout Session only expires, and a paid one never does): 'dropped' is Cashfree's alone.
    const lateKinds = (['failed', 'dropped'] as const).filter((kind) => kind === 'failed' || gw.hasDropEvent);
    it.each(lateKinds)('a %s attempt reported after the success: stays SUCCEEDED and delivered, no failure alert', async (kind) => {
      const { id } = await paid();

      await deliverAll(gw.lateFailure(h, id, kind));
      await h.app.services.dispatcher.whenIdle();

      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', deliveryStatus: 'DELIVERED', failureCode: null });
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
      expect(await openAlerts()).not.toContain('PAYMENT_FAILED');
      expect(inviteLinks()).toHaveLength(1);
    });

    it('a success after a declined attempt: FAILED, then SUCCEEDED and delivered', async () => {
      const { id } = await pending();
      await deliverAll(await gw.failedAttempt(h, id));
      expect((await payment(id)).status).toBe('FAILED');

      await deliverAll(await gw.pay(h, id));

      expect(await delivered(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0 });
      expect(await transitions(id)).toEqual(['PENDING->FAILED', 'FAILED->SUCCEEDED']);
      expect(inviteLinks()).toHaveLength(1);
    });

    it('a full refund made at the gateway reported before the success: REFUNDED, refunded once, as the gateway says', async () => {
      const { id } = await pending();
      const success = await gw.pay(h, id);
      const refunded = await gw.refundAtGateway(h, id, AMOUNT);

      await deliverAll(refunded);
      expect(await payment(id)).toMatchObject({ status: 'PENDING', refundedMinor: AMOUNT });
      await deliverAll(success);
      await deliverAll(refunded);
      await h.app.services.dispatcher.whenIdle();

      expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: AMOUNT });
      expect(settledAtGateway(id)).toBe(AMOUNT);
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->REFUNDED']);
      // Nothing more can go back: not at Recoup, not at the gateway.
      const again = await refund(id, null);
      expect(again.errors?.[0].extensions?.code).toMatch(/CONFLICT|BAD_USER_INPUT/);
      expect(gw.refunds(h, id)).toHaveLength(1);
    });

    it('a partial refund reported before the success: SUCCEEDED with that much refunded; what is left can still be refunded, once', async () => {
      const { id } = await pending();
      const success = await gw.pay(h, id);
      const refunded = await gw.refundAtGateway(h, id, 1000);

      await deliverAll(refunded);
      await deliverAll(success);
      await deliverAll(refunded);
      expect(await delivered(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000 });

      const over = await refund(id, 1501);
      expect(over.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 1500 });
      must(await refund(id, null, 'the rest'));
      await settleRefunds(id);

      expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: AMOUNT });
      expect(gw.refunds(h, id).map((r) => r.amountMinor).sort()).toEqual([1000, 1500]);
      expect(settledAtGateway(id)).toBe(AMOUNT);
    });
  });

  describe('refunds', () => {
    it('the operator double-clicks refund (the same request twice, one after the other): one refund at the gateway, counted once', async () => {
      const { id } = await paid();
      const first = must(await refund(id, 1000)).refundPayment;
      const second = must(await refund(id, 1000)).refundPayment;
      expect(second.refund.id).toBe(first.refund.id);
      const webhooks = await settleRefunds(id);
      // The gateway's webhooks about the refund we made, redelivered one by one and five at once: not counted again.
      await deliverAll(webhooks);
      const again = await Promise.all(webhooks.flatMap((webhook) => Array.from({ length: 5 }, () => gw.deliver(h, webhook))));
      expect(again.every((s) => s === 200)).toBe(true);

      expect(gw.refunds(h, id)).toEqual([{ amountMinor: 1000, settled: true }]);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000, refunds: [{ id: first.refund.id, amountMinor: 1000, status: 'SUCCEEDED' }] });
      expect((await audit(id)).filter((a) => a.action === 'payment.refund')).toHaveLength(1);
      expect(await openAlerts()).not.toContain('PAYMENT_REFUNDED');
    });

    it('the operator double-clicks refund (the same request twice at once): one refund at the gateway, counted once', async () => {
      const { id } = await paid();
      const [a, b] = await Promise.all([refund(id, 1000), refund(id, 1000)]);
      expect(must(b).refundPayment.refund.id).toBe(must(a).refundPayment.refund.id);
      await settleRefunds(id);

      expect(gw.refunds(h, id)).toEqual([{ amountMinor: 1000, settled: true }]);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000, refunds: [{ amountMinor: 1000, status: 'SUCCEEDED' }] });
    });

    it('the second click while the first refund is still at the gateway: answered with that refund, one refund at the gateway', async () => {
      const { id } = await paid();
      gw.slowNextRefund(h, 700);
      const first = refund(id, 1000);
      await eventually(async () => gw.refundRequests(h) === 1);
      const second = must(await refund(id, 1000)).refundPayment;
      const made = must(await first).refundPayment;
      expect(second.refund).toMatchObject({ id: made.refund.id, amountMinor: 1000 });
      expect(second.payment.refunds).toHaveLength(1);
      await settleRefunds(id);

      expect(gw.refunds(h, id)).toEqual([{ amountMinor: 1000, settled: true }]);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000, refunds: [{ id: made.refund.id, status: 'SUCCEEDED' }] });
      expect((await audit(id)).filter((a) => a.action === 'payment.refund')).toHaveLength(1);
    });

    it('a refund larger than what is left: BAD_USER_INPUT, nothing at the gateway', async () => {
      const { id } = await paid();
      const tooMuch = await refund(id, AMOUNT + 1);
      expect(tooMuch.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: AMOUNT, requestedMinor: AMOUNT + 1 });
      expect(gw.refunds(h, id)).toEqual([]);

      must(await refund(id, 2000));
      // Asked for but not yet settled (Cashfree's usual) counts against what is left too.
      const over = await refund(id, 501);
      expect(over.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 500 });
      await settleRefunds(id);
      expect((await refund(id, 501)).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 500 });

      expect(gw.refunds(h, id)).toEqual([{ amountMinor: 2000, settled: true }]);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 2000 });
    });

    it('partial refunds that add up to the whole: REFUNDED, access ended, the gateway refunded exactly the amount', async () => {
      const { id, customerId } = await paid();
      must(await refund(id, 1000, 'goodwill'));
      await settleRefunds(id);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000 });
      must(await refund(id, 1500, 'cancelled'));
      await settleRefunds(id);

      const after = await payment(id);
      expect(after).toMatchObject({ status: 'REFUNDED', refundedMinor: AMOUNT });
      expect(after.refunds.map((r: any) => [r.amountMinor, r.status])).toEqual([[1000, 'SUCCEEDED'], [1500, 'SUCCEEDED']]);
      expect(settledAtGateway(id)).toBe(AMOUNT);
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->REFUNDED']);
      const access = must(await h.gql(`query($c: ID!) { customerAccess(customerId: $c) { subscriptions { subscription { status } } } }`, { c: customerId }));
      expect(access.customerAccess.subscriptions).toEqual([{ subscription: { status: 'LAPSED' } }]);

      const more = await refund(id, 1, 'again');
      expect(more.errors?.[0].extensions?.code).toMatch(/CONFLICT|BAD_USER_INPUT/);
      expect(gw.refunds(h, id)).toHaveLength(2);
    });
  });

  describe('the nightly reconciliation', () => {
    const RUN = `mutation { runReconciliation(wait: true) { id status errors missedWebhooks outOfSync unknownGatewayPayments alertsRaised findings(first: 50) { edges { node { type subjectType subjectId action } } } } }`;
    type Found = { type: string; subjectType: string; subjectId: string; action: string };
    const run = async (): Promise<{ missedWebhooks: number; outOfSync: number; unknownGatewayPayments: number; alertsRaised: number; findings: Found[] }> => {
      // Stripe's \`created\` is whole seconds and a run lists only what is older than its start.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const result = must(await h.gql(RUN, {}, { token: h.tokens.operator })).runReconciliation;
      expect(result).toMatchObject({ status: 'SUCCEEDED', errors: [] });
      return { ...result, findings: result.findings.edges.map((e: { node: Found }) => e.node) };
    };
    const alertsOf = async (type: string) =>
      must(await h.gql(`query($t: [AlertType!]) { alerts(first: 50, filter: { open: true, types: $t }) { edges { node { type severity subjectType subjectId } } } }`, { t: [type] })).alerts.edges.map((e: any) => e.node);

    it('a payment whose webhooks never arrived is repaired: SUCCEEDED and delivered once, a MISSED_WEBHOOK finding and one alert for the endpoint; the next run finds nothing', async () => {
      const { id } = await pending();
      await gw.pay(h, id); // its webhooks are never delivered
      expect((await payment(id)).status).toBe('PENDING');

      const first = await run();
      expect(first.missedWebhooks).toBeGreaterThanOrEqual(1);
      expect(first.findings.map((f) => f.type)).toContain('MISSED_WEBHOOK');
      expect(first.findings.filter((f) => f.type !== 'MISSED_WEBHOOK')).toEqual([]);
      expect(await delivered(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0 });
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
      expect(await alertsOf('MISSED_WEBHOOKS')).toEqual([{ type: 'MISSED_WEBHOOKS', severity: 'MEDIUM', subjectType: 'webhook_endpoint', subjectId: gw.gateway.toLowerCase() }]);

      const second = await run();
      expect(second).toMatchObject({ missedWebhooks: 0, outOfSync: 0, unknownGatewayPayments: 0, alertsRaised: 0, findings: [] });
      await h.app.services.dispatcher.whenIdle();
      expect(inviteLinks()).toHaveLength(1);
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED']);
    });

    it('a refund made at the gateway whose webhook never arrived is recorded by the run: REFUNDED, as much as the gateway refunded, access ended', async () => {
      const { id, customerId } = await paid();
      await gw.refundAtGateway(h, id, AMOUNT); // never delivered
      expect((await payment(id)).status).toBe('SUCCEEDED');

      const first = await run();
      expect(first.findings.map((f) => f.type)).toContain('MISSED_WEBHOOK');
      expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: settledAtGateway(id) });
      expect(settledAtGateway(id)).toBe(AMOUNT);
      const access = must(await h.gql(`query($c: ID!) { customerAccess(customerId: $c) { subscriptions { subscription { status } } } }`, { c: customerId }));
      expect(access.customerAccess.subscriptions).toEqual([{ subscription: { status: 'LAPSED' } }]);

      expect((await run()).findings).toEqual([]);
      expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->REFUNDED']);
    });

    it('money at the gateway for no payment of ours is UNKNOWN_GATEWAY_PAYMENT, CRITICAL, alerted once over two runs', async () => {
      const foreign = await gw.foreignPayment(h, 4250);
      const first = await run();
      expect(first).toMatchObject({ unknownGatewayPayments: 1, outOfSync: 0 });
      expect(first.findings).toEqual([{ type: 'UNKNOWN_GATEWAY_PAYMENT', subjectType: foreign.subjectType, subjectId: foreign.subjectId, action: 'alerted' }]);
      expect(await alertsOf('UNKNOWN_GATEWAY_PAYMENT')).toEqual([{ type: 'UNKNOWN_GATEWAY_PAYMENT', severity: 'CRITICAL', subjectType: foreign.subjectType, subjectId: foreign.subjectId }]);

      const second = await run();
      expect(second).toMatchObject({ unknownGatewayPayments: 1, alertsRaised: 0 });
      expect(await alertsOf('UNKNOWN_GATEWAY_PAYMENT')).toHaveLength(1);
    });

    it('ours recording more refunded than the gateway is PAYMENT_OUT_OF_SYNC and never "repaired" by lowering our record; it resolves once the gateway agrees', async () => {
      const { id } = await paid();
      // Ours says 500 went back; the gateway has no refund of it.
      await h.app.services.db.fork().execute(`update payments set refunded_minor = 500 where id = ?`, [id]);
      const first = await run();
      expect(first.findings).toEqual([{ type: 'PAYMENT_OUT_OF_SYNC', subjectType: 'payment', subjectId: id, action: 'alerted' }]);
      expect(await alertsOf('PAYMENT_OUT_OF_SYNC')).toEqual([{ type: 'PAYMENT_OUT_OF_SYNC', severity: 'HIGH', subjectType: 'payment', subjectId: id }]);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 500 });

      // The gateway's refund of those 500 shows up (its webhook lost too): the two agree again.
      await gw.refundAtGateway(h, id, 500);
      const fixed = await run();
      expect(fixed.findings.filter((f) => f.type === 'PAYMENT_OUT_OF_SYNC')).toEqual([]);
      expect(await alertsOf('PAYMENT_OUT_OF_SYNC')).toEqual([]);
      expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 500 });
    });
  });
});
