import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * Regression: a payment refunded after its invite links went out ended with delivery FAILED,
 * "payment refunded before delivery". The record must say what happened: delivered, then access
 * taken back. The links are "out" once Telegram has the message: the refund lands while the
 * send is in flight (the fake Telegram holds its answer), before the outcome is recorded.
 */
const DELIVERY = `query($id: ID!) { payment(id: $id) { status refundedMinor deliveryStatus deliveredAt deliveryFailureReason deliveryAccessRevokedAt deliveryAccessRevokedReason } }`;
/** Below the harness's TELEGRAM_TIMEOUT_MS (2 s): the send succeeds, late. */
const HOLD_MS = 1000;

describe('a refund after the links were sent', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const deliveryOf = async (id: string) => must(await h.gql(DELIVERY, { id })).payment;
  const sent = () => h.telegram.callsTo('sendMessage').length;

  async function checkout() {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const { events } = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    const intentId = (events.find((e) => e.type === 'payment_intent.succeeded')!.data.object as { id: string }).id;
    return { paymentId: payment.id, events, intentId };
  }

  async function send(events: Array<{ id: string }>) {
    for (const event of events) expect(await h.stripe.sendEvent(event as never)).toBe(200);
  }

  /** Applies the success and waits until the links message is at Telegram, its answer held. */
  async function paidAndSending(events: Array<{ id: string }>) {
    h.telegram.failNext('sendMessage', { delayMs: HOLD_MS });
    await send(events);
    await eventually(async () => sent() === 1);
  }

  async function settled(paymentId: string) {
    await eventually(async () => (await paymentStatus(h, paymentId)) === 'REFUNDED');
    await h.app.services.dispatcher.whenIdle();
    return deliveryOf(paymentId);
  }

  /** The refund is applied while Telegram still holds its answer: the attempt has not recorded yet. */
  async function refundedWhileSending(paymentId: string) {
    await eventually(async () => (await paymentStatus(h, paymentId)) === 'REFUNDED');
    expect((await deliveryOf(paymentId)).deliveryStatus).toBe('IN_PROGRESS');
    return settled(paymentId);
  }

  it('success → links sent → charge.refunded: DELIVERED, then access revoked', async () => {
    const { paymentId, events, intentId } = await checkout();
    await paidAndSending(events);
    await h.stripe.refundCharge(intentId);

    const after = await refundedWhileSending(paymentId);
    expect(after).toMatchObject({ status: 'REFUNDED', deliveryStatus: 'DELIVERED', deliveryFailureReason: null, deliveryAccessRevokedReason: 'payment refunded' });
    expect(after.deliveredAt).not.toBeNull();
    // Handed to Telegram first, access taken back after.
    expect(new Date(after.deliveryAccessRevokedAt).getTime()).toBeGreaterThanOrEqual(new Date(after.deliveredAt).getTime());
    expect(sent()).toBe(1);
  });

  it('partial refund → success → links sent → full refund: DELIVERED, then access revoked', async () => {
    const { paymentId, events, intentId } = await checkout();
    const partial = await h.stripe.refundCharge(intentId, { amount: 1000 }, { sendWebhooks: false });
    await send(partial.events);
    await paidAndSending(events);
    expect((await deliveryOf(paymentId)).refundedMinor).toBe(1000);
    await h.stripe.refundCharge(intentId);

    const after = await refundedWhileSending(paymentId);
    expect(after).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500, deliveryStatus: 'DELIVERED', deliveryAccessRevokedReason: 'payment refunded' });
    expect(after.deliveredAt).not.toBeNull();
    expect(sent()).toBe(1);
  });

  it('full refund → success: no links go out; FAILED before delivery, access revoked', async () => {
    const { paymentId, events, intentId } = await checkout();
    const refund = await h.stripe.refundCharge(intentId, {}, { sendWebhooks: false });
    await send(refund.events);
    await send(events);

    const after = await settled(paymentId);
    expect(after).toMatchObject({ status: 'REFUNDED', deliveryStatus: 'FAILED', deliveredAt: null, deliveryFailureReason: 'payment refunded before delivery', deliveryAccessRevokedReason: 'payment refunded' });
    expect(after.deliveryAccessRevokedAt).not.toBeNull();
    expect(sent()).toBe(0);
  });

  it('delivered and recorded, then refunded by an operator: stays DELIVERED, deliveredAt kept', async () => {
    const { paymentId, events } = await checkout();
    await send(events);
    const delivered = await eventually(async () => {
      const d = await deliveryOf(paymentId);
      return d.deliveryStatus === 'DELIVERED' ? d : null;
    });
    must(await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, reason: "customer asked") { payment { status } } }`, { id: paymentId }, { token: h.tokens.operator }));

    const after = await settled(paymentId);
    expect(after).toMatchObject({ deliveryStatus: 'DELIVERED', deliveredAt: delivered.deliveredAt, deliveryAccessRevokedReason: 'payment refunded' });
    expect(after.deliveryAccessRevokedAt).not.toBeNull();
  });

  it('dispute → success: the links owed never go out; FAILED before delivery, access revoked', async () => {
    const { paymentId, events } = await checkout();
    const intent = events.find((e) => e.type === 'payment_intent.succeeded')!.data.object as unknown as { latest_charge: string };
    const dispute = await h.stripe.disputeCharge(intent.latest_charge, {}, { sendWebhooks: false });
    await send(dispute.events);
    await send(events);

    await eventually(async () => (await paymentStatus(h, paymentId)) === 'DISPUTED');
    await h.app.services.dispatcher.whenIdle();
    const after = await deliveryOf(paymentId);
    expect(after).toMatchObject({ status: 'DISPUTED', deliveryStatus: 'FAILED', deliveredAt: null, deliveryFailureReason: 'payment disputed before delivery', deliveryAccessRevokedReason: 'payment disputed' });
    expect(sent()).toBe(0);
  });
});
