import { collect, eventually, startHarness, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { advance, chargesByJob, jobOf, queueRetry, seedFailedPayments } from '../support/retry-fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENV = { RETRY_JITTER_PERCENT: '0', RENEWAL_GRACE_HOURS: '72', DUNNING_LAST_RETRY_MARGIN_MINUTES: '60' };

/**
 * How a retried charge ends, as operators and customers see it: a retry that succeeds (job
 * SUCCEEDED, the SUCCEEDED retryEvent, the payment and the subscription through the normal path),
 * and a renewal whose retries are spent (the customer is told over Telegram).
 */
describe('retry outcomes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: ENV });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const sql = <T extends object>(query: string, params: unknown[] = []) => h.app.services.db.fork().execute<T[]>(query, params);
  const subscriptionOf = async (customerId: string) => {
    const [row] = await sql<{ id: string; status: string; current_period_end: Date }>(`select id, status, current_period_end from subscriptions where customer_id = ?`, [customerId]);
    return { ...row, current_period_end: new Date(row.current_period_end) };
  };
  const renewalOf = async (customerId: string) => (await sql<{ id: string; status: string }>(`select id, status from payments where customer_id = ? and kind = 'RENEWAL'`, [customerId]))[0];
  const renewAndProcess = async () => {
    await h.app.services.dunning.renewDue();
    await h.app.services.retryProcessor.run();
  };
  /** Lets a graphql-ws subscription register before the test acts. */
  const registered = () => new Promise((resolve) => setTimeout(resolve, 200));

  /** A paid, delivered checkout with auto-renew on and a saved card; the clock at the period's end. */
  async function subscribed() {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await sql<{ status: string }>(`select status from deliveries where payment_id = ?`, [payment.id]))[0]?.status === 'DELIVERED');
    await sql(`update subscriptions set auto_renew = true, stripe_customer_id = 'cus_dana', stripe_payment_method_id = 'pm_dana' where customer_id = ?`, [customerId]);
    const sub = await subscriptionOf(customerId);
    (h.clock as unknown as { set(at: Date): void }).set(sub.current_period_end);
    await h.app.services.telegramOutbox.whenIdle();
    return { customerId, sub };
  }

  it('a declined renewal retried successfully: job SUCCEEDED (recovered), the SUCCEEDED event, the payment SUCCEEDED, the subscription ACTIVE again from its old end', async () => {
    const { customerId, sub } = await subscribed();
    const end = sub.current_period_end.getTime();
    const ws = h.wsClient();
    const retryEvents = collect(ws, `subscription($c: ID) { retryEvent(customerId: $c) { type status attempts paymentId subscriptionId amountMinor currency } }`, { c: customerId });
    const access = collect(ws, `subscription($c: ID) { accessChanged(customerId: $c) { status subscriptionId } }`, { c: customerId });
    await registered();

    h.stripe.declineNext('card_declined', 'insufficient_funds');
    await renewAndProcess();
    const renewal = await renewalOf(customerId);
    expect(renewal.status).toBe('FAILED');
    expect((await subscriptionOf(customerId)).status).toBe('PAST_DUE');
    const paymentChanges = collect(ws, `subscription($p: ID) { paymentStatusChanged(paymentId: $p) { from to } }`, { p: renewal.id });
    await registered();
    const messagesBefore = h.telegram.callsTo('sendMessage').length;
    const linksBefore = h.telegram.callsTo('createChatInviteLink').length;

    advance(h, 24 * HOUR);
    expect(await h.app.services.retryProcessor.run()).toMatchObject({ claimed: 1, succeeded: 1 });

    const job = await jobOf(h, renewal.id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, recovered: true });
    expect(chargesByJob(h).get(job!.id)).toHaveLength(2);
    const status = must(await h.gql(`query($p: ID!) { retryStatus(paymentId: $p) { status recovered outcome payment { status kind } attemptHistory { outcome isRetry } } }`, { p: renewal.id }));
    expect(status.retryStatus).toMatchObject({ status: 'SUCCEEDED', recovered: true, payment: { status: 'SUCCEEDED', kind: 'RENEWAL' } });
    expect(status.retryStatus.attemptHistory.map((a: { outcome: string; isRetry: boolean }) => [a.outcome, a.isRetry])).toEqual([['FAILED', false], ['SUCCEEDED', true]]);

    const events = (await retryEvents.waitFor(3)).map((e) => e.retryEvent);
    expect(events.map((e) => e.type)).toEqual(['QUEUED', 'ATTEMPTED', 'SUCCEEDED']);
    expect(events[2]).toEqual({ type: 'SUCCEEDED', status: 'SUCCEEDED', attempts: 2, paymentId: renewal.id, subscriptionId: sub.id, amountMinor: 2500, currency: 'usd' });
    expect((await paymentChanges.waitFor(1)).map((e) => e.paymentStatusChanged)).toEqual([{ from: 'FAILED', to: 'SUCCEEDED' }]);
    const accessSeen = (await access.waitFor(2)).map((e) => e.accessChanged);
    expect(accessSeen).toEqual([{ status: 'PAST_DUE', subscriptionId: sub.id }, { status: 'ACTIVE', subscriptionId: sub.id }]);

    // The renewal pays for the period after the old one: the grace the customer used is not given away.
    const renewed = await subscriptionOf(customerId);
    expect(renewed.status).toBe('ACTIVE');
    expect(renewed.current_period_end.getTime()).toBe(end + 30 * DAY);
    // Still in the channels: no new links, no new message.
    await h.app.services.telegramOutbox.whenIdle();
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(linksBefore);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(messagesBefore);
    ws.dispose();
  });

  it('an off-session charge retried successfully publishes QUEUED then SUCCEEDED and counts as recovered', async () => {
    const [payment] = await seedFailedPayments(h, [4200]);
    const events = collect(h.wsClient(), `subscription($p: ID) { retryEvent(paymentId: $p) { type status attempts } }`, { p: payment.paymentId });
    await registered();
    await queueRetry(h, payment.paymentId, { code: 'card_declined', declineCode: 'insufficient_funds' });
    advance(h, 24 * HOUR);
    expect(await h.app.services.retryProcessor.run()).toMatchObject({ succeeded: 1 });

    expect((await events.waitFor(2)).map((e) => e.retryEvent)).toEqual([
      { type: 'QUEUED', status: 'QUEUED', attempts: 0 },
      { type: 'SUCCEEDED', status: 'SUCCEEDED', attempts: 1 },
    ]);
    expect(await jobOf(h, payment.paymentId)).toMatchObject({ status: 'SUCCEEDED', recovered: true });
    const stats = must(await h.gql(`{ retryStats { byStatus { status count } recoveredAmount { currency amountMinor } } }`));
    expect(stats.retryStats.byStatus).toEqual([{ status: 'SUCCEEDED', count: 1 }]);
    expect(stats.retryStats.recoveredAmount).toEqual([{ currency: 'usd', amountMinor: 4200 }]);
    events.dispose();
  });

  it('a renewal whose retries are spent: the subscription lapses and the customer is told over Telegram, once', async () => {
    const { customerId } = await subscribed();
    const messagesBefore = h.telegram.callsTo('sendMessage').length;
    h.stripe.declineNext('card_declined', 'insufficient_funds');
    await renewAndProcess();
    // A failed attempt that will be retried tells the customer nothing yet.
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(messagesBefore);
    for (const wait of [24 * HOUR, 47 * HOUR]) {
      advance(h, wait);
      h.stripe.declineNext('card_declined', 'insufficient_funds');
      await h.app.services.retryProcessor.run();
    }
    const renewal = await renewalOf(customerId);
    const job = await jobOf(h, renewal.id);
    expect(job).toMatchObject({ status: 'EXHAUSTED', attempts: 3 });
    expect((await subscriptionOf(customerId)).status).toBe('LAPSED');

    const told = await eventually(async () => {
      const sent = h.telegram.callsTo('sendMessage').slice(messagesBefore);
      return sent.length > 0 && sent;
    });
    expect(told).toHaveLength(1);
    expect(String(told[0].params.chat_id)).toBe('700100200');
    const text = String(told[0].params.text);
    expect(text).toContain('<b>Your Pro bundle subscription was not renewed</b>');
    expect(text).toContain('We could not charge $25.00 to your saved card for the renewal: the bank declined it for insufficient funds. We tried 3 times.');
    expect(text).toContain('Your access to the channels ends now');
    await eventually(async () => (await jobOf(h, renewal.id))!.customerNotifiedAt !== null);

    // Nothing more to charge and nothing said twice.
    advance(h, 10 * DAY);
    await renewAndProcess();
    expect(h.telegram.callsTo('sendMessage').slice(messagesBefore)).toHaveLength(1);
  });

  it('an off-session charge (not a renewal) whose retries are spent tells only the operators', async () => {
    const [payment] = await seedFailedPayments(h, [2500]);
    await queueRetry(h, payment.paymentId, { code: 'card_declined', declineCode: 'generic_decline' });
    for (const wait of [5 * 60_000, 10 * 60_000]) {
      advance(h, wait);
      h.stripe.declineNext('card_declined', 'generic_decline');
      await h.app.services.retryProcessor.run();
    }
    expect(await jobOf(h, payment.paymentId)).toMatchObject({ status: 'EXHAUSTED', customerNotifiedAt: null });
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);
    const alerts = must(await h.gql(`{ alerts(filter: { types: [RETRY_EXHAUSTED] }) { totalCount } }`));
    expect(alerts.alerts.totalCount).toBe(1);
  });
});
