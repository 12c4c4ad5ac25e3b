import { ManualClock } from '../../src/platform/shared/clock';
import { cashfreeDriver, stripeDriver, type GatewayDriver } from '../support/gateway-drivers';
import { must } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * refunds:settle-pending, the refunds' backstop: a refund left PENDING because the gateway's
 * answer never came back (a timeout, or a process killed before it arrived) is made again under
 * its own key by the job, with nobody asking. The real scheduler runs the job (runNow); the fake
 * Stripe and Cashfree are driven over HTTP by the real SDKs.
 */
const REFUND = `mutation($id: ID!, $amount: Int, $reason: String!) { refundPayment(paymentId: $id, amountMinor: $amount, reason: $reason) { refund { id status } } }`;
const PAYMENT = `query($id: ID!) { payment(id: $id) { status refundedMinor refunds { id amountMinor status } } }`;
const OLD_ENOUGH_MS = 3 * 60_000;

describe('refunds:settle-pending', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    // Rows are stamped with the wall clock: a manual clock that starts there, moved on by hand.
    clock = new ManualClock(new Date());
    h = await startHarness({ cashfree: true, clock, startJobs: true, env: { REFUND_SETTLE_EVERY: '1 hour', REFUND_SETTLE_AFTER_SECONDS: '120' } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const payment = async (id: string) => must(await h.gql(PAYMENT, { id })).payment;
  const refund = (id: string, amount: number) => h.gql(REFUND, { id, amount, reason: 'customer asked' }, { token: h.tokens.operator });
  const settleJob = () => h.app.services.scheduler.runNow('refunds:settle-pending');
  const audit = async (id: string) => must(await h.gql(`query($id: ID!) { auditTrail(first: 50, subject: $id) { edges { node { action actor } } } }`, { id })).auditTrail.edges.map((e: any) => e.node);

  async function paid(gw: GatewayDriver): Promise<string> {
    const { customerId, planId } = await gw.seed(h, 2500);
    const { id } = await gw.checkout(h, customerId, planId);
    for (const webhook of await gw.pay(h, id)) expect(await gw.deliver(h, webhook)).toBe(200);
    await eventually(async () => (await payment(id)).status === 'SUCCEEDED');
    return id;
  }

  it('Stripe refunded but its answer was lost: the job settles the same refund, one at Stripe, audited as the job', async () => {
    const id = await paid(stripeDriver);
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { afterExecute: true, status: 500 });
    expect((await refund(id, 700)).errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    expect(stripeDriver.refunds(h, id)).toEqual([{ amountMinor: 700, settled: true }]);
    const [pending] = (await payment(id)).refunds;
    expect(pending).toMatchObject({ amountMinor: 700, status: 'PENDING' });

    // Not yet old enough: the job leaves it (the operator may be retrying right now).
    await settleJob();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await payment(id)).refunds[0].status).toBe('PENDING');

    clock.advance(OLD_ENOUGH_MS);
    await settleJob();
    const settled = await eventually(async () => {
      const p = await payment(id);
      return p.refunds[0].status === 'SUCCEEDED' ? p : null;
    });
    expect(settled).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 700, refunds: [{ id: pending.id, status: 'SUCCEEDED' }] });
    expect(stripeDriver.refunds(h, id)).toEqual([{ amountMinor: 700, settled: true }]);
    const keys = h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds').map((r) => r.idempotencyKey);
    expect(new Set(keys)).toEqual(new Set([`refund:${pending.id}`]));
    expect((await audit(id)).find((a: any) => a.action === 'payment.refund')).toMatchObject({ actor: 'system:refunds:settle-pending' });
  });

  it('a refund that never reached Stripe is made by the job, once; a second run changes nothing', async () => {
    const id = await paid(stripeDriver);
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { status: 500 });
    expect((await refund(id, 2500)).errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    expect(stripeDriver.refunds(h, id)).toEqual([]);

    clock.advance(OLD_ENOUGH_MS);
    await settleJob();
    await eventually(async () => (await payment(id)).status === 'REFUNDED');
    expect(stripeDriver.refunds(h, id)).toEqual([{ amountMinor: 2500, settled: true }]);

    clock.advance(OLD_ENOUGH_MS);
    await settleJob();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(stripeDriver.refunds(h, id)).toHaveLength(1);
    expect(await payment(id)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
  });

  it('Stripe refusing the refund when the job makes it again: FAILED, with a REFUND_FAILED alert, and refundable again', async () => {
    const id = await paid(stripeDriver);
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { status: 500 });
    expect((await refund(id, 1000)).errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { status: 400, error: { type: 'invalid_request_error', code: 'charge_disputed', message: 'The charge is disputed.' } });

    clock.advance(OLD_ENOUGH_MS);
    await settleJob();
    await eventually(async () => (await payment(id)).refunds[0].status === 'FAILED');
    const alerts = must(await h.gql(`{ alerts(filter: { open: true, types: [REFUND_FAILED] }) { edges { node { subjectId severity detail } } } }`)).alerts.edges.map((e: any) => e.node);
    expect(alerts).toEqual([{ subjectId: id, severity: 'HIGH', detail: expect.stringContaining('The charge is disputed') }]);
    expect(must(await refund(id, 1000)).refundPayment.refund.status).toBe('SUCCEEDED');
  });

  it('a Stripe refund PENDING past its idempotency key\'s 24 hours is never made again (it could refund twice): an operator is told instead', async () => {
    const id = await paid(stripeDriver);
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { afterExecute: true, status: 500 });
    expect((await refund(id, 700)).errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    const posts = () => h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds').length;
    const before = posts();

    clock.advance(24 * 3_600_000);
    await settleJob();
    const alerts = await eventually(async () => {
      const open = must(await h.gql(`{ alerts(filter: { open: true, types: [REFUND_FAILED] }) { edges { node { subjectId title detail } } } }`)).alerts.edges.map((e: any) => e.node);
      return open.length > 0 ? open : null;
    });
    expect(alerts).toEqual([{ subjectId: id, title: 'Refund outcome unknown: 700 USD', detail: expect.stringContaining('syncPaymentWithGateway') }]);
    expect(posts()).toBe(before);
    expect((await payment(id)).refunds).toEqual([expect.objectContaining({ amountMinor: 700, status: 'PENDING' })]);
    // An operator's next refund does not replay it either: Stripe made it once, and once it stays.
    must(await refund(id, 500));
    expect(stripeDriver.refunds(h, id).map((r) => r.amountMinor).sort()).toEqual([500, 700]);
  });

  it('Cashfree: a refund whose answer timed out stays PENDING while Cashfree processes it, and is SUCCEEDED once Cashfree has, with no webhook', async () => {
    const id = await paid(cashfreeDriver);
    cashfreeDriver.slowNextRefund(h, 2500); // past CASHFREE_TIMEOUT_MS: our call gives up, Cashfree makes it
    expect((await refund(id, 900)).errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    await eventually(async () => cashfreeDriver.refunds(h, id).length === 1, 5000);
    const [pending] = (await payment(id)).refunds;
    expect(pending.status).toBe('PENDING');

    const reads = () => h.cashfree!.countRequests('GET', new RegExp(`/orders/${id}/refunds$`));
    const before = reads();
    clock.advance(OLD_ENOUGH_MS);
    await settleJob();
    // One read of the order's refunds: Cashfree has it, processing; no second create.
    await eventually(async () => reads() > before, 5000);
    expect((await payment(id)).refunds[0].status).toBe('PENDING');
    expect(cashfreeDriver.refundRequests(h)).toBe(1);

    h.cashfree!.engine.settleRefund(pending.id, 'SUCCESS'); // processed; its webhook never sent
    await settleJob();
    await eventually(async () => (await payment(id)).refunds[0].status === 'SUCCEEDED');
    expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 900 });
    expect(cashfreeDriver.refunds(h, id)).toEqual([{ amountMinor: 900, settled: true }]);
  });
});
