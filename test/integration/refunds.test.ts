import { Subscription } from '../../src/access/subscription.entity';
import { AuditEntry } from '../../src/audit/audit-entry.entity';
import { Payment } from '../../src/payments/payment.entity';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const REFUND = `mutation($id: ID!, $amount: Int, $reason: String!) {
  refundPayment(paymentId: $id, amountMinor: $amount, reason: $reason) {
    refund { id amountMinor status stripeRefundId reason requestedBy }
    payment { id status refundedMinor refunds { amountMinor status } }
  }
}`;

describe('refunds', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const refund = (id: string, amount: number | null, reason = 'customer asked') => h.gql(REFUND, { id, amount, reason }, { token: h.tokens.operator });
  const stripeRefunds = () => h.stripe.store.refunds.newestFirst();
  const refundPosts = () => h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');

  /** A paid (SUCCEEDED) payment of 2500 with an active subscription. */
  async function paid() {
    const seed = await seedCatalog(h);
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await paymentStatus(h, payment.id)) === 'SUCCEEDED');
    return { ...seed, paymentId: payment.id };
  }

  it('refunds part, then the rest; the payment is REFUNDED only when nothing is left', async () => {
    const { paymentId } = await paid();
    const first = must(await refund(paymentId, 1000, 'goodwill')).refundPayment;
    expect(first.refund).toMatchObject({ amountMinor: 1000, status: 'SUCCEEDED', reason: 'goodwill', requestedBy: 'operator:olga-operator' });
    expect(first.payment).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000 });

    const rest = must(await refund(paymentId, null, 'cancelled subscription')).refundPayment;
    expect(rest.refund).toMatchObject({ amountMinor: 1500, status: 'SUCCEEDED' });
    expect(rest.payment).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500, refunds: [{ amountMinor: 1000, status: 'SUCCEEDED' }, { amountMinor: 1500, status: 'SUCCEEDED' }] });
    expect(stripeRefunds().map((r) => r.amount).sort()).toEqual([1000, 1500]);
    expect(refundPosts().map((r) => r.idempotencyKey)).toEqual([`refund:${first.refund.id}`, `refund:${rest.refund.id}`]);
  });

  it('refuses more than what is left with BAD_USER_INPUT, without asking Stripe', async () => {
    const { paymentId } = await paid();
    const tooMuch = await refund(paymentId, 2501);
    expect(tooMuch.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 2500, requestedMinor: 2501 });
    must(await refund(paymentId, 2000));
    const over = await refund(paymentId, 501);
    expect(over.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 500 });
    expect(refundPosts()).toHaveLength(1);
    expect((await refund(paymentId, 0)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('counts a refund made in the Stripe dashboard as already gone (read-through)', async () => {
    const { paymentId } = await paid();
    const intentId = (await h.app.services.db.fork().findOneOrFail(Payment, paymentId)).stripePaymentIntentId!;
    await h.stripe.refundCharge(intentId, { amount: 2000 }, { sendWebhooks: false });
    const over = await refund(paymentId, 1000);
    expect(over.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', remainingMinor: 500 });
  });

  it('after a timeout (refunded, answer lost) the retry settles the same refund: one refund at Stripe', async () => {
    const { paymentId } = await paid();
    h.stripe.failNext({ method: 'POST', path: '/v1/refunds' }, { afterExecute: true, hang: true });
    const lost = await refund(paymentId, 700);
    expect(lost.errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    const pending = must(await h.gql(`query($id: ID!) { payment(id: $id) { refundedMinor refunds { id status } } }`, { id: paymentId })).payment;
    expect(pending).toMatchObject({ refundedMinor: 0, refunds: [{ status: 'PENDING' }] });
    expect(stripeRefunds()).toHaveLength(1);

    const retried = must(await refund(paymentId, 700)).refundPayment;
    expect(retried.refund).toMatchObject({ id: pending.refunds[0].id, status: 'SUCCEEDED', amountMinor: 700 });
    expect(retried.payment.refundedMinor).toBe(700);
    expect(stripeRefunds()).toHaveLength(1);
    expect(new Set(refundPosts().map((r) => r.idempotencyKey))).toEqual(new Set([`refund:${pending.refunds[0].id}`]));
  });

  it('a full refund ends the access it paid for, audited with who and before → after', async () => {
    const { paymentId, customerId } = await paid();
    const before = await h.app.services.db.fork().findOneOrFail(Subscription, { customer: customerId });
    expect(before.status).toBe('ACTIVE');
    must(await refund(paymentId, null, 'chargeback threat'));
    const after = await h.app.services.db.fork().findOneOrFail(Subscription, { customer: customerId });
    expect(after.status).toBe('LAPSED');
    expect(after.lapsedAt).not.toBeNull();
    const audit = await h.app.services.db.fork().findOneOrFail(AuditEntry, { subjectId: paymentId, action: 'payment.refund' });
    expect(audit).toMatchObject({ actor: 'operator:olga-operator', before: { status: 'SUCCEEDED', refundedMinor: 0 }, after: { status: 'REFUNDED', refundedMinor: 2500 } });
  });

  it('refuses to refund an authorization (release it instead)', async () => {
    const seed = await seedCatalog(h, { captureMode: 'MANUAL' });
    await h.app.services.db.fork().execute(`update customers set telegram_user_id = null where id = ?`, [seed.customerId]);
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await paymentStatus(h, payment.id)) === 'AUTHORIZED');
    expect((await refund(payment.id, 100)).errors?.[0].extensions?.code).toBe('CONFLICT');
  });
});
