import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const MINUTE = 60_000;
const PAYMENT = `query($id: ID!) { payment(id: $id) { status deliveryStatus refundedMinor refundRequestedAt } }`;

type Created = Awaited<ReturnType<typeof createPayment>>;

/**
 * A payment that succeeds at Stripe after Recoup expired or cancelled it. Its session is expired
 * at the fake, so the money arrives as a PaymentIntent carrying our id (as a session paid in the
 * same instant, or an intent confirmed elsewhere, would): never lost, never silent.
 */
function lateFlow(h: () => Harness) {
  const clock = () => h().clock as ManualClock;

  async function expiredPayment(): Promise<Created> {
    const { customerId, planId } = await seedCatalog(h());
    const payment = await createPayment(h(), customerId, planId);
    clock().advance(31 * MINUTE);
    expect(must(await h().gql(`mutation { forceCleanup { expired } }`)).forceCleanup.expired).toBe(1);
    expect(await paymentStatus(h(), payment.id)).toBe('EXPIRED');
    await expect(h().stripe.completeCheckout(payment.stripeCheckoutSessionId)).rejects.toThrow(/can no longer be paid/);
    return payment;
  }

  /** Stripe reports the money: payment_intent.created, charge.succeeded, payment_intent.succeeded, signed, to our webhook. */
  async function paysLate(payment: Created) {
    const { paymentIntent, events, deliveries } = await h().stripe.createPaymentIntentDirect({ amount: 2500, currency: 'usd', metadata: { paymentId: payment.id } });
    expect(events.map((e) => e.type)).toContain('payment_intent.succeeded');
    expect(deliveries.map((d) => d.status)).toEqual(events.map(() => 200));
    return { paymentIntent, succeeded: events.find((e) => e.type === 'payment_intent.succeeded')! };
  }

  const state = async (id: string) => must(await h().gql(PAYMENT, { id })).payment;
  const lateAlerts = async () =>
    must(await h().gql(`{ alerts(filter: { types: [LATE_PAYMENT] }) { edges { node { subjectId title detail occurrences } } } }`)).alerts.edges.map((e: any) => e.node);
  const refundRequests = () => h().stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');

  return { expiredPayment, paysLate, state, lateAlerts, refundRequests };
}

describe('late payments, policy honour (default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());
  const late = lateFlow(() => h);

  const delivered = (id: string) => eventually(async () => (await late.state(id)).deliveryStatus === 'DELIVERED');

  it('honours a success for an EXPIRED payment: SUCCEEDED, delivered, and a LATE_PAYMENT alert', async () => {
    const payment = await late.expiredPayment();

    await late.paysLate(payment);

    expect(await paymentStatus(h, payment.id)).toBe('SUCCEEDED');
    await delivered(payment.id);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
    const [alert] = await late.lateAlerts();
    expect(alert).toMatchObject({ subjectId: payment.id, title: 'Late payment received: honoured' });
    expect(alert.detail).toContain('was EXPIRED');
    expect(late.refundRequests()).toEqual([]);
  });

  it('honours a success for a CANCELLED payment the same way', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: payment.id }, { token: h.tokens.operator }));

    await late.paysLate(payment);

    expect(await paymentStatus(h, payment.id)).toBe('SUCCEEDED');
    await delivered(payment.id);
    expect((await late.lateAlerts())[0].detail).toContain('was CANCELLED');
  });

  it('a redelivered success changes nothing more: one delivery, one alert', async () => {
    const payment = await late.expiredPayment();
    const { succeeded } = await late.paysLate(payment);
    await delivered(payment.id);

    expect(await h.stripe.sendEvent(succeeded)).toBe(200);

    await h.app.services.dispatcher.whenIdle();
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
    expect(await late.lateAlerts()).toEqual([expect.objectContaining({ subjectId: payment.id, occurrences: 1 })]);
  });
});

describe('late payments, policy refund (LATE_PAYMENT_POLICY=refund)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: { LATE_PAYMENT_POLICY: 'refund' } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());
  const late = lateFlow(() => h);

  const refunded = (id: string) => eventually(async () => ((await late.state(id)).status === 'REFUNDED' ? late.state(id) : null));

  it('refunds the late payment at Stripe with a key from our id, delivers nothing, and alerts', async () => {
    const payment = await late.expiredPayment();

    const { paymentIntent } = await late.paysLate(payment);

    expect(await refunded(payment.id)).toEqual({ status: 'REFUNDED', deliveryStatus: null, refundedMinor: 2500, refundRequestedAt: null });
    expect(late.refundRequests()).toEqual([expect.objectContaining({ idempotencyKey: `refund:${payment.id}:late`, body: expect.objectContaining({ payment_intent: paymentIntent.id }) })]);
    expect(h.stripe.store.refunds.newestFirst().map((r) => [r.payment_intent, r.amount])).toEqual([[paymentIntent.id, 2500]]);
    await h.app.services.dispatcher.whenIdle();
    expect(h.telegram.callsTo('sendMessage')).toEqual([]);
    expect(await late.lateAlerts()).toEqual([expect.objectContaining({ subjectId: payment.id, title: 'Late payment received: refunding it' })]);
  });

  it('a refund Stripe refused is retried by the next cleanup run, with the same key', async () => {
    const payment = await late.expiredPayment();
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { status: 500, error: { type: 'api_error', message: 'boom' } });

    await late.paysLate(payment);

    const owed = await eventually(async () => (late.refundRequests().length === 1 ? late.state(payment.id) : null));
    expect(owed).toMatchObject({ status: 'SUCCEEDED', deliveryStatus: null });
    expect(owed.refundRequestedAt).not.toBeNull();
    expect(must(await h.gql(`mutation { forceCleanup { refundsRetried } }`)).forceCleanup.refundsRetried).toBe(1);
    expect(await late.state(payment.id)).toMatchObject({ status: 'REFUNDED', refundRequestedAt: null });
    expect(late.refundRequests().map((r) => r.idempotencyKey)).toEqual([`refund:${payment.id}:late`, `refund:${payment.id}:late`]);
    expect(h.telegram.callsTo('sendMessage')).toEqual([]);
  });
});
