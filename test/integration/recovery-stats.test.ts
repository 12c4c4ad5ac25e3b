import { quantileOf } from '../../src/delivery/recovery-stats.service';
import { COUNTERS_SQL, normalised, RECOUNT_SQL, type KeyCount } from '../support/delivery-recount';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * recoveryStats reads counters the triggers on deliveries keep; after real deliveries, failures,
 * retries, an operator's recovery and refunds before and after delivery they must equal a recount
 * of every delivery row.
 */
const STATS = `{ recoveryStats { successfulPayments delivered failedDeliveries awaitingCustomer pendingDeliveries recovered deliverySuccessRate recoverySuccessRate avgSecondsToDelivery p95SecondsToDelivery } }`;

describe('recoveryStats counters', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  let nextChat = 810000001;
  let planId: string;
  const customer = async (telegram = true) => {
    const tg = telegram ? String(nextChat++) : null;
    const created = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'Stat Buyer', email: 'stats@example.com', ...(tg ? { telegramUserId: tg } : {}) } }));
    return { id: created.createCustomer.id as string, tg: tg ? Number(tg) : null };
  };
  const deliveryOf = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus deliveryAttempts deliveryRecovered } }`, { id })).payment;
  const until = (id: string, status: string) => eventually(async () => (await deliveryOf(id)).deliveryStatus === status, 10_000);

  async function paid(customerId: string): Promise<string> {
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    return payment.id;
  }

  it('equal a recount of every delivery after a mix of outcomes', async () => {
    ({ planId } = await seedCatalog(h));
    const ids: Record<string, string> = {};
    for (const name of ['a', 'b']) {
      ids[name] = await paid((await customer()).id);
      await until(ids[name], 'DELIVERED');
    }
    h.telegram.failNext('sendMessage', { errorCode: 500, description: 'Internal Server Error' });
    ids.retried = await paid((await customer()).id);
    await until(ids.retried, 'DELIVERED');

    const blocked = await customer();
    h.telegram.userBlockedBot(blocked.tg!);
    ids.blocked = await paid(blocked.id);
    await until(ids.blocked, 'FAILED');

    const rescued = await customer();
    h.telegram.userBlockedBot(rescued.tg!);
    ids.rescued = await paid(rescued.id);
    await until(ids.rescued, 'FAILED');
    h.telegram.userStartedBot(rescued.tg!);
    must(await h.gql(`mutation($id: ID!) { recoverPayment(paymentId: $id) { status } }`, { id: ids.rescued }, { token: h.tokens.operator }));
    await until(ids.rescued, 'DELIVERED');

    ids.awaiting = await paid((await customer(false)).id);
    await until(ids.awaiting, 'AWAITING_CUSTOMER');

    h.telegram.failNext('sendMessage', { errorCode: 429, description: 'Too Many Requests: retry after 3600', retryAfter: 3600 });
    ids.pending = await paid((await customer()).id);
    await eventually(async () => {
      const d = await deliveryOf(ids.pending);
      return d.deliveryStatus === 'PENDING' && d.deliveryAttempts === 1;
    });

    ids.refundedAfter = await paid((await customer()).id);
    await until(ids.refundedAfter, 'DELIVERED');
    must(await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, reason: "changed mind") { payment { status } } }`, { id: ids.refundedAfter }, { token: h.tokens.operator }));

    const early = await customer();
    const payment = await createPayment(h, early.id, planId);
    const { events } = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    const intent = (events.find((e) => e.type === 'payment_intent.succeeded')!.data.object as { id: string }).id;
    const refund = await h.stripe.refundCharge(intent, {}, { sendWebhooks: false });
    for (const event of [...refund.events, ...events]) await h.stripe.sendEvent(event);
    ids.refundedBefore = payment.id;
    await eventually(async () => (await paymentStatus(h, ids.refundedBefore)) === 'REFUNDED' && (await paymentStatus(h, ids.refundedAfter)) === 'REFUNDED');
    await until(ids.refundedBefore, 'FAILED');
    await h.app.services.dispatcher.whenIdle();

    const sql = h.app.services.db.fork();
    const recount = normalised(await sql.execute<KeyCount[]>(RECOUNT_SQL));
    expect(normalised(await sql.execute<KeyCount[]>(COUNTERS_SQL))).toEqual(recount);

    const n = (key: string) => recount.find((r) => r.key === key)?.n ?? 0;
    expect({ successful: n('successful'), delivered: n('delivered'), failed: n('failed'), awaiting: n('awaiting'), pending: n('pending'), recovered: n('recovered') }).toEqual({
      successful: 9, delivered: 5, failed: 2, awaiting: 1, pending: 1, recovered: 2,
    });
    const timed = recount.find((r) => r.key === 'timed')!;
    const buckets = recount.filter((r) => r.key.startsWith('le_')).map((r) => ({ upper: r.key === 'le_inf' ? Infinity : Number(r.key.slice(3)), n: r.n })).sort((x, y) => x.upper - y.upper);
    const { recoveryStats } = must(await h.gql(STATS, {}, { token: h.tokens.viewer }));
    expect(recoveryStats).toEqual({
      successfulPayments: 9, delivered: 5, failedDeliveries: 2, awaitingCustomer: 1, pendingDeliveries: 1, recovered: 2,
      deliverySuccessRate: 5 / 9, recoverySuccessRate: 2 / 4,
      avgSecondsToDelivery: expect.closeTo(timed.seconds / timed.n, 2),
      p95SecondsToDelivery: expect.closeTo(quantileOf(buckets, 0.95)!, 3),
    });
  });
});
