import { AuditEntry } from '../../src/audit/audit-entry.entity';
import { Subscription } from '../../src/access/subscription.entity';
import { Payment } from '../../src/payments/payment.entity';
import type { ManualClock } from '../../src/platform/shared/clock';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const CAPTURE = `mutation($id: ID!) { capturePayment(paymentId: $id) { id status succeededAt captureAttempts } }`;

describe('manual capture', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: { CAPTURE_BACKOFF_BASE_MS: '60000' } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => {
    await h.app.services.manualCapture.whenIdle();
    await h.reset();
  });

  const captures = (intentId: string) => h.stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/payment_intents/${intentId}/capture`);
  const intentOf = async (paymentId: string) => (await h.app.services.db.fork().findOneOrFail(Payment, paymentId)).stripePaymentIntentId!;

  /** A manual-capture payment authorized at checkout; `deliver: false` leaves it waiting for the customer. */
  async function authorized(deliver: boolean) {
    const seed = await seedCatalog(h, { captureMode: 'MANUAL' });
    if (!deliver) await h.app.services.db.fork().execute(`update customers set telegram_user_id = null where id = ?`, [seed.customerId]);
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => ['AUTHORIZED', 'SUCCEEDED'].includes(await paymentStatus(h, payment.id)));
    return { ...seed, paymentId: payment.id, intentId: await intentOf(payment.id) };
  }

  it('captures once the links are delivered, and says SUCCEEDED only after Stripe confirmed', async () => {
    const { paymentId, intentId, customerId } = await authorized(true);
    await eventually(async () => (await paymentStatus(h, paymentId)) === 'SUCCEEDED');
    expect(h.stripe.store.paymentIntents.get(intentId).status).toBe('succeeded');
    expect(captures(intentId).map((r) => r.idempotencyKey)).toEqual([`capture:${paymentId}`]);
    const subscriptions = await h.app.services.db.fork().find(Subscription, { customer: customerId });
    // Access began at authorization; the capture must not extend it a second time.
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0].currentPeriodEnd.getTime() - subscriptions[0].currentPeriodStart.getTime()).toBe(30 * 86_400_000);
  });

  it('keeps the payment AUTHORIZED while Stripe fails, then the sweep captures it', async () => {
    h.stripe.failNext({ method: 'POST', path: /\/capture$/ }, { status: 500 });
    const { paymentId, intentId } = await authorized(true);
    const after = await eventually(async () => {
      const p = must(await h.gql(`query($id: ID!) { payment(id: $id) { status deliveryStatus captureAttempts captureLastError } }`, { id: paymentId })).payment;
      return p.captureAttempts > 0 && p;
    });
    expect(after).toMatchObject({ status: 'AUTHORIZED', deliveryStatus: 'DELIVERED', captureAttempts: 1 });
    expect(after.captureLastError).toContain('Stripe');
    expect(await h.app.services.manualCapture.sweep()).toMatchObject({ claimed: 0 }); // backing off
    (h.clock as ManualClock).advance(120_000);
    expect(await h.app.services.manualCapture.sweep()).toMatchObject({ claimed: 1, captured: 1 });
    expect(await paymentStatus(h, paymentId)).toBe('SUCCEEDED');
    expect(h.stripe.store.paymentIntents.get(intentId).amount_received).toBe(2500);
  });

  it('counts a capture Stripe already made as success (read-through, no second capture)', async () => {
    const { paymentId, intentId } = await authorized(false);
    h.stripe.setPaymentIntentStatus(intentId, 'succeeded');
    const captured = must(await h.gql(CAPTURE, { id: paymentId }, { token: h.tokens.operator })).capturePayment;
    expect(captured.status).toBe('SUCCEEDED');
    expect(captures(intentId)).toHaveLength(0);
  });

  it("takes Stripe's 'already captured' refusal of a capture call as the capture", async () => {
    const { intentId } = await authorized(false);
    h.stripe.setPaymentIntentStatus(intentId, 'succeeded');
    // Stripe answers 400 payment_intent_unexpected_state carrying the intent, now succeeded.
    const intent = await h.app.services.gateway.capturePaymentIntent(intentId, 'capture:someone-else');
    expect(intent).toMatchObject({ id: intentId, status: 'succeeded' });
    expect(captures(intentId)).toHaveLength(1);
  });

  it('after a timeout (captured, answer lost) a retry captures nothing more', async () => {
    const { paymentId, intentId } = await authorized(false);
    h.stripe.failNext({ method: 'POST', path: /\/capture$/ }, { afterExecute: true, hang: true });
    const first = await h.gql(CAPTURE, { id: paymentId }, { token: h.tokens.operator });
    expect(first.errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    expect(await paymentStatus(h, paymentId)).toBe('AUTHORIZED');
    expect(h.stripe.store.paymentIntents.get(intentId).status).toBe('succeeded');

    const retry = must(await h.gql(CAPTURE, { id: paymentId }, { token: h.tokens.operator })).capturePayment;
    expect(retry.status).toBe('SUCCEEDED');
    expect(captures(intentId)).toHaveLength(1);
    const charge = h.stripe.store.charges.get(h.stripe.store.paymentIntents.get(intentId).latest_charge!);
    expect(charge.amount_captured).toBe(2500);
    const audit = await h.app.services.db.fork().find(AuditEntry, { subjectId: paymentId, action: 'payment.capture' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'operator:olga-operator', before: { status: 'AUTHORIZED' }, after: { status: 'SUCCEEDED' } });
  });

  it('an authorization Stripe dropped before capture: CANCELLED at once, with a HIGH alert', async () => {
    const { paymentId, intentId } = await authorized(false);
    h.stripe.setPaymentIntentStatus(intentId, 'canceled');
    await h.app.services.db.fork().execute(`update deliveries set status = 'DELIVERED', delivered_at = now() where payment_id = ?`, [paymentId]);
    expect(await h.app.services.manualCapture.sweep()).toMatchObject({ claimed: 1, failed: 1 });
    expect(await paymentStatus(h, paymentId)).toBe('CANCELLED');
    expect(captures(intentId)).toHaveLength(0);
    const alerts = must(await h.gql(`{ alerts(filter: { types: [CAPTURE_FAILED] }) { edges { node { severity subjectId detail } } } }`)).alerts.edges;
    expect(alerts).toEqual([{ node: expect.objectContaining({ severity: 'HIGH', subjectId: paymentId }) }]);
  });

  it('the sweep, after a lost answer, records the capture Stripe made without capturing again', async () => {
    h.stripe.failNext({ method: 'POST', path: /\/capture$/ }, { afterExecute: true, status: 500 });
    const { paymentId, intentId } = await authorized(true);
    await eventually(async () => (await h.gql(`query($id: ID!) { payment(id: $id) { captureAttempts } }`, { id: paymentId })).data?.payment.captureAttempts === 1);
    (h.clock as ManualClock).advance(120_000);
    await h.app.services.manualCapture.sweep();
    expect(await paymentStatus(h, paymentId)).toBe('SUCCEEDED');
    expect(captures(intentId)).toHaveLength(1);
  });
});

describe('manual capture with CAPTURE_ON=joined', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: { CAPTURE_ON: 'joined' } });
  });
  afterAll(async () => h?.close());

  it('waits past delivery for the join, then captures', async () => {
    const seed = await seedCatalog(h, { captureMode: 'MANUAL' });
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus } }`, { id: payment.id })).data?.payment.deliveryStatus === 'DELIVERED');
    expect(await h.app.services.manualCapture.sweep()).toMatchObject({ claimed: 1, captured: 0 });
    expect(await paymentStatus(h, payment.id)).toBe('AUTHORIZED');

    // The access feature marks the link used when the customer joins, then says so.
    await h.app.services.db.fork().execute(`update invite_links set used_at = now(), used_by_telegram_user_id = '700100200' where payment_id = ?`, [payment.id]);
    await h.app.services.manualCapture.accessFulfilled(payment.id);
    await h.app.services.manualCapture.whenIdle();
    expect(await paymentStatus(h, payment.id)).toBe('SUCCEEDED');
  });
});
