import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';

/**
 * The Stripe events issue 14.8 adds, each sent through the real webhook route by the fake Stripe:
 * a dispute closed (won, lost), a delayed checkout payment that fails or succeeds, and a refund
 * that fails. Redeliveries change nothing twice.
 */
let h: Harness;

const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const PAYMENT = `query($id: ID!) { payment(id: $id) { status refundedMinor failureCode deliveryStatus deliveryAccessRevokedAt refunds { amountMinor status stripeRefundId failureMessage } } }`;
const payment = async (id: string) => must(await h.gql(PAYMENT, { id })).payment;
const REFUND = `mutation($id: ID!, $amount: Int) { refundPayment(paymentId: $id, amountMinor: $amount, reason: "customer asked") { refund { id status stripeRefundId amountMinor } payment { status refundedMinor } } }`;
const refund = async (paymentId: string, amountMinor: number | null = null) => must(await h.gql(REFUND, { id: paymentId, amount: amountMinor }, { token: h.tokens.operator })).refundPayment;
const sent = () => h.telegram.callsTo('sendMessage').length;
const settle = async () => {
  await h.stripe.whenIdle();
  await h.app.services.intake.whenIdle();
  await h.app.services.dispatcher.whenIdle();
};

async function alerts(type: string) {
  const data = must(await h.gql(`query($t: [AlertType!]) { alerts(first: 50, filter: { types: $t }) { edges { node { type severity occurrences subjectId title detail resolvedAt resolutionNote } } } }`, { t: [type] }));
  return data.alerts.edges.map((e: any) => e.node) as Array<{ type: string; severity: string; occurrences: number; subjectId: string; title: string; detail: string; resolvedAt: string | null; resolutionNote: string | null }>;
}
/** The payment's audit trail of status changes, in the order written, with their notes. */
async function transitions(paymentId: string): Promise<string[]> {
  const rows = await sql<{ change: string }>(
    `select concat(before->>'status', '->', after->>'status') as change from audit_entries where action = 'payment.transition' and subject_id = ? order by at, ctid`,
    [paymentId],
  );
  return rows.map((r) => r.change);
}
const subscriptionOf = async (paymentId: string) => (await sql(`select s.status from subscriptions s join payments p on p.customer_id = s.customer_id and p.bundle_id = s.bundle_id where p.id = ?`, [paymentId]))[0];
const events = () => sql<{ type: string; outcome: string | null; processed_at: Date | null }>(`select type, outcome, processed_at from gateway_events order by received_at`);
/** Sends the same events again (a redelivery by Stripe), each answered 200. */
async function redeliver(list: FakeEvent[]) {
  for (const event of list) expect(await h.stripe.sendEvent(event)).toBe(200);
  await settle();
}

/** A paid payment whose links went out. */
async function delivered() {
  const { customerId, planId } = await seedCatalog(h);
  const created = await createPayment(h, customerId, planId);
  const { paymentIntent } = await h.stripe.completeCheckout(created.stripeCheckoutSessionId);
  await eventually(async () => (await payment(created.id)).deliveryStatus === 'DELIVERED');
  await settle();
  return { id: created.id, intentId: paymentIntent.id, chargeId: paymentIntent.latest_charge! };
}

/** A delivered payment, then disputed: DISPUTED, access ended, PAYMENT_DISPUTED open. */
async function disputed() {
  const paid = await delivered();
  const { dispute } = await h.stripe.disputeCharge(paid.chargeId);
  await settle();
  expect(await payment(paid.id)).toMatchObject({ status: 'DISPUTED', deliveryStatus: 'DELIVERED' });
  expect((await payment(paid.id)).deliveryAccessRevokedAt).not.toBeNull();
  expect((await subscriptionOf(paid.id)).status).toBe('LAPSED');
  expect(await alerts('PAYMENT_DISPUTED')).toMatchObject([{ subjectId: paid.id, resolvedAt: null }]);
  return { ...paid, disputeId: dispute.id };
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.reset());

describe('charge.dispute.closed', () => {
  it('won: the payment is SUCCEEDED again, the dispute stays in its history, the alert is resolved, access and links come back', async () => {
    const { id, disputeId } = await disputed();
    const before = sent();

    const { events: closed } = await h.stripe.closeDispute(disputeId, 'won');
    await settle();

    const after = await payment(id);
    expect(after.status).toBe('SUCCEEDED');
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->DISPUTED', 'DISPUTED->SUCCEEDED']);
    const [won] = await sql(`select note from audit_entries where action = 'payment.transition' and subject_id = ? and after->>'status' = 'SUCCEEDED' and before->>'status' = 'DISPUTED'`, [id]);
    expect(won.note).toContain('dispute won');
    expect((await sql(`select disputed_at from payments where id = ?`, [id]))[0].disputed_at).not.toBeNull();
    const [alert] = await alerts('PAYMENT_DISPUTED');
    expect(alert.resolvedAt).not.toBeNull();
    expect(alert.resolutionNote).toContain(`Dispute ${disputeId} won`);
    // A new message with links, the delivery owed again and delivered; the subscription runs again.
    await eventually(async () => sent() === before + 1);
    await settle();
    expect(await payment(id)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryAccessRevokedAt: null });
    expect((await subscriptionOf(id)).status).toBe('ACTIVE');
    expect((await events()).find((e) => e.type === 'charge.dispute.closed')).toMatchObject({ outcome: 'dispute won: DISPUTED -> SUCCEEDED' });

    // Redelivered: nothing changes twice (no transition, no second message).
    await redeliver(closed);
    expect(await transitions(id)).toHaveLength(3);
    expect(sent()).toBe(before + 1);
    expect((await payment(id)).status).toBe('SUCCEEDED');
  });

  it('lost: the payment stays DISPUTED, access stays ended, the alert is resolved as lost', async () => {
    const { id, disputeId } = await disputed();
    const before = sent();

    const { events: closed } = await h.stripe.closeDispute(disputeId, 'lost');
    await settle();

    expect((await payment(id)).status).toBe('DISPUTED');
    expect((await subscriptionOf(id)).status).toBe('LAPSED');
    expect((await payment(id)).deliveryAccessRevokedAt).not.toBeNull();
    const [alert] = await alerts('PAYMENT_DISPUTED');
    expect(alert.resolvedAt).not.toBeNull();
    expect(alert.resolutionNote).toContain('lost');
    expect((await events()).find((e) => e.type === 'charge.dispute.closed')!.outcome).toMatch(/^dispute lost/);

    await redeliver(closed);
    expect(await transitions(id)).toEqual(['PENDING->SUCCEEDED', 'SUCCEEDED->DISPUTED']);
    expect(sent()).toBe(before);
  });

  it('lost, when the created event was missed: the closure alone moves the payment to DISPUTED and ends access', async () => {
    const paid = await delivered();
    const { dispute } = await h.stripe.disputeCharge(paid.chargeId, {}, { sendWebhooks: false });
    await h.stripe.closeDispute(dispute.id, 'lost');
    await settle();

    expect((await payment(paid.id)).status).toBe('DISPUTED');
    expect((await subscriptionOf(paid.id)).status).toBe('LAPSED');
  });
});

describe('checkout.session.async_payment_*', () => {
  async function processing() {
    const { customerId, planId } = await seedCatalog(h);
    const created = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(created.stripeCheckoutSessionId, { delayed: true });
    await settle();
    expect((await payment(created.id)).status).toBe('PENDING');
    return created;
  }

  it('failed: the intent re-read says so, the payment is FAILED with PAYMENT_FAILED raised', async () => {
    const created = await processing();
    // Only the session's event reaches us: the intent's own failure event is lost.
    const { events: settled } = await h.stripe.settleAsyncCheckout(created.stripeCheckoutSessionId, 'failed', { sendWebhooks: false });
    const asyncFailed = settled.filter((e) => e.type === 'checkout.session.async_payment_failed');
    await redeliver(asyncFailed);

    expect(await payment(created.id)).toMatchObject({ status: 'FAILED', failureCode: 'insufficient_funds' });
    expect(await alerts('PAYMENT_FAILED')).toMatchObject([{ severity: 'HIGH', subjectId: created.id, occurrences: 1 }]);
    expect(sent()).toBe(0);

    await redeliver(asyncFailed);
    expect(await transitions(created.id)).toEqual(['PENDING->FAILED']);
  });

  it('succeeded: the payment is SUCCEEDED and its links are delivered', async () => {
    const created = await processing();
    const { events: settled } = await h.stripe.settleAsyncCheckout(created.stripeCheckoutSessionId, 'succeeded', { sendWebhooks: false });
    // Only the session's event reaches us.
    await redeliver(settled.filter((e) => e.type === 'checkout.session.async_payment_succeeded'));

    expect((await payment(created.id)).status).toBe('SUCCEEDED');
    await eventually(async () => (await payment(created.id)).deliveryStatus === 'DELIVERED');
    expect(sent()).toBe(1);
    expect((await subscriptionOf(created.id)).status).toBe('ACTIVE');
  });
});

describe('a failed refund (refund.updated / refund.failed)', () => {
  it('our Refund is FAILED, the refunded total drops, REFUND_FAILED (HIGH) is raised, and a second refund then works', async () => {
    const { id } = await delivered();
    const first = await refund(id, 1000);
    await settle();
    expect(first.payment).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000 });

    const { events: failed } = await h.stripe.failRefund(first.refund.stripeRefundId, 'expired_or_canceled_card');
    await settle();

    expect(failed.map((e) => e.type)).toEqual(['refund.updated', 'refund.failed']);
    const after = await payment(id);
    expect(after).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0 });
    expect(after.refunds).toEqual([{ amountMinor: 1000, status: 'FAILED', stripeRefundId: first.refund.stripeRefundId, failureMessage: 'expired_or_canceled_card' }]);
    const raised = await alerts('REFUND_FAILED');
    expect(raised).toMatchObject([{ severity: 'HIGH', subjectId: id, occurrences: 1, resolvedAt: null }]);
    expect(raised[0].title).toBe('Refund failed: the customer did not get 1000 USD back; refund again');
    // Both events stored and applied; the second of them changed nothing.
    expect((await events()).filter((e) => e.type.startsWith('refund.')).map((e) => e.outcome)).toEqual([
      expect.stringMatching(/^refund re_\w+ failed \(expired_or_canceled_card\): refunded 1000 -> 0$/),
      expect.stringMatching(/^no change: refund re_\w+ already recorded as failed$/),
    ]);

    // Redelivered: still one alert occurrence, the total not lowered again.
    await redeliver(failed);
    expect((await payment(id)).refundedMinor).toBe(0);
    expect((await alerts('REFUND_FAILED'))[0].occurrences).toBe(1);

    // The money is owed again: the whole amount can be refunded now.
    const again = await refund(id, null);
    await settle();
    expect(again.refund).toMatchObject({ status: 'SUCCEEDED', amountMinor: 2500 });
    expect(again.payment).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    expect((await payment(id)).refundedMinor).toBe(2500);
  });

  it('a full refund that fails: the payment stays REFUNDED with access ended, the money counts as not refunded, and the alert says so', async () => {
    const { id } = await delivered();
    const full = await refund(id, null);
    await settle();
    expect(full.payment).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });

    // refund.failed alone (the updated event lost), then a stale charge.refunded from before the failure.
    const { events: failed } = await h.stripe.failRefund(full.refund.stripeRefundId, 'lost_or_stolen_card', { sendWebhooks: false });
    await redeliver(failed.filter((e) => e.type === 'refund.failed'));

    const after = await payment(id);
    expect(after).toMatchObject({ status: 'REFUNDED', refundedMinor: 0 });
    expect((await subscriptionOf(id)).status).toBe('LAPSED');
    const [alert] = await alerts('REFUND_FAILED');
    expect(alert).toMatchObject({ severity: 'HIGH', title: 'Refund failed: the customer did not get 2500 USD back; refund again' });
    expect(alert.detail).toContain('stays REFUNDED and its access stays ended');

    const stale = h.stripe.store.events.newestFirst().find((e) => e.type === 'charge.refunded')!;
    await redeliver([stale]);
    expect((await payment(id)).refundedMinor).toBe(0);
  });

  it('a dashboard refund (not ours) that fails lowers the total just the same', async () => {
    const { id, intentId } = await delivered();
    const { refund: made } = await h.stripe.refundCharge(intentId, { amount: 500 });
    await settle();
    expect((await payment(id)).refundedMinor).toBe(500);

    await h.stripe.failRefund(made.id);
    await settle();
    expect(await payment(id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0, refunds: [] });
    expect(await alerts('REFUND_FAILED')).toMatchObject([{ severity: 'HIGH', subjectId: id }]);
  });
});
