import { collect, eventually, startHarness, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { advance, chargesByJob, jobOf } from '../support/retry-fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENV = { RETRY_JITTER_PERCENT: '0', RENEWAL_GRACE_HOURS: '72', DUNNING_LAST_RETRY_MARGIN_MINUTES: '60' };

interface Sub {
  id: string;
  status: string;
  current_period_end: Date;
}

describe('dunning: renewal of auto-renewing subscriptions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', env: ENV });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const sql = <T extends object>(query: string, params: unknown[] = []) => h.app.services.db.fork().execute<T[]>(query, params);
  const subscriptionOf = async (customerId: string): Promise<Sub> => {
    const [row] = await sql<Sub>(`select id, status, current_period_end from subscriptions where customer_id = ?`, [customerId]);
    return { ...row, current_period_end: new Date(row.current_period_end) };
  };
  const renewalOf = async (customerId: string) =>
    (await sql<{ id: string; status: string; kind: string; delivery_status: string | null }>(`select p.id, p.status, p.kind, (select d.status from deliveries d where d.payment_id = p.id) as delivery_status from payments p where p.customer_id = ? and p.kind = 'RENEWAL'`, [customerId]))[0];
  const renewAndProcess = async () => {
    const report = await h.app.services.dunning.renewDue();
    await h.app.services.retryProcessor.run();
    return report;
  };

  /** A paid checkout (delivered), then auto-renew switched on with a saved card; the clock at the period's end. */
  async function subscribed(): Promise<{ customerId: string; sub: Sub }> {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await sql<{ delivery_status: string }>(`select (select d.status from deliveries d where d.payment_id = p.id) as delivery_status from payments p where p.id = ?`, [payment.id]))[0]?.delivery_status === 'DELIVERED');
    await sql(`update subscriptions set auto_renew = true, stripe_customer_id = 'cus_dana', stripe_payment_method_id = 'pm_dana' where customer_id = ?`, [customerId]);
    const sub = await subscriptionOf(customerId);
    (h.clock as unknown as { set(at: Date): void }).set(sub.current_period_end);
    return { customerId, sub };
  }

  it('charges at period end and extends the subscription through the normal path, without new invite links', async () => {
    const { customerId, sub } = await subscribed();
    const linksBefore = h.telegram.callsTo('createChatInviteLink').length;
    expect(await renewAndProcess()).toEqual({ due: 1, queued: 1, skipped: 0 });

    const renewed = await subscriptionOf(customerId);
    expect(renewed.status).toBe('ACTIVE');
    expect(renewed.current_period_end.getTime()).toBe(sub.current_period_end.getTime() + 30 * DAY);
    expect(await renewalOf(customerId)).toMatchObject({ status: 'SUCCEEDED', kind: 'RENEWAL', delivery_status: null });
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(linksBefore);
    const [charge] = h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
    expect(charge.body).toMatchObject({ customer: 'cus_dana', payment_method: 'pm_dana', off_session: 'true', confirm: 'true', amount: '2500' });
    // The period is paid: a second run finds nothing to renew.
    expect(await renewAndProcess()).toEqual({ due: 0, queued: 0, skipped: 0 });
  });

  it('retries a declined renewal (PAST_DUE), pulls the last retry in before access is cut, then lapses', async () => {
    const { customerId, sub } = await subscribed();
    const end = sub.current_period_end.getTime();
    h.stripe.declineNext('card_declined', 'insufficient_funds');
    await renewAndProcess();
    expect((await subscriptionOf(customerId)).status).toBe('PAST_DUE');
    const renewal = await renewalOf(customerId);
    expect((await jobOf(h, renewal.id))!.nextAttemptAt!.getTime()).toBe(end + 24 * HOUR);

    advance(h, 24 * HOUR);
    h.stripe.declineNext('card_declined', 'insufficient_funds');
    await renewAndProcess();
    // 24 h + 48 h would be the end of the 72 h grace: the last retry comes an hour (the margin) before it.
    expect((await jobOf(h, renewal.id))!.nextAttemptAt!.getTime()).toBe(end + 71 * HOUR);

    advance(h, 47 * HOUR);
    h.stripe.declineNext('card_declined', 'insufficient_funds');
    await renewAndProcess();
    const job = await jobOf(h, renewal.id);
    expect(job).toMatchObject({ status: 'EXHAUSTED', attempts: 3 });
    expect(chargesByJob(h).get(job!.id)).toHaveLength(3);
    expect((await subscriptionOf(customerId)).status).toBe('LAPSED');
    expect((await renewalOf(customerId)).status).toBe('CANCELLED');
    const alerts = must(await h.gql(`{ alerts(filter: { types: [RETRY_EXHAUSTED] }) { edges { node { severity subjectId detail } } } }`));
    expect(alerts.alerts.edges).toHaveLength(1);
    expect(alerts.alerts.edges[0].node).toMatchObject({ severity: 'HIGH', subjectId: renewal.id });
  });

  it('tells the customer over Telegram when the bank wants authentication, and does not retry', async () => {
    const { customerId } = await subscribed();
    const events = collect(h.wsClient(), `subscription($c: ID) { retryEvent(customerId: $c, types: [CUSTOMER_ACTION_NEEDED]) { type message reason } }`, { c: customerId });
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the subscription register
    const messagesBefore = h.telegram.callsTo('sendMessage').length;
    h.stripe.declineNext('authentication_required', 'authentication_required');
    await renewAndProcess();

    const [event] = (await events.waitFor(1)).map((e) => e.retryEvent);
    expect(event).toMatchObject({ type: 'CUSTOMER_ACTION_NEEDED', reason: 'AUTHENTICATION_REQUIRED' });
    expect(event.message).toContain('confirm this payment');
    const sent = h.telegram.callsTo('sendMessage').slice(messagesBefore);
    expect(sent).toHaveLength(1);
    expect(String(sent[0].params.chat_id)).toBe('700100200');
    expect(String(sent[0].params.text)).toContain('$25.00');
    const renewal = await renewalOf(customerId);
    expect(await jobOf(h, renewal.id)).toMatchObject({ status: 'EXHAUSTED', attempts: 1 });
    expect((await jobOf(h, renewal.id))!.customerNotifiedAt).not.toBeNull();
    // The customer keeps the grace period to pay by checkout; the access expiry lapses it after that.
    expect((await subscriptionOf(customerId)).status).toBe('PAST_DUE');
    advance(h, 10 * DAY);
    await h.app.services.retryProcessor.run();
    expect(h.stripe.countRequests('POST', '/v1/payment_intents')).toBe(1);
    events.dispose();
  });

  it('does not charge a subscription whose customer turned auto-renew off after the renewal was queued', async () => {
    const { customerId } = await subscribed();
    await h.app.services.dunning.renewDue();
    await sql(`update subscriptions set auto_renew = false where customer_id = ?`, [customerId]);
    await h.app.services.retryProcessor.run();
    expect(h.stripe.countRequests('POST', '/v1/payment_intents')).toBe(0);
    const renewal = await renewalOf(customerId);
    expect(await jobOf(h, renewal.id)).toMatchObject({ status: 'CANCELLED', outcome: 'auto-renew turned off' });
    expect(renewal.status).toBe('CANCELLED');
  });

  it('chargeWithRetry charges the saved card now, and queues a retryable failure', async () => {
    const { customerId } = await subscribed();
    const plan = (await sql<{ plan_id: string }>(`select plan_id from payments where customer_id = ?`, [customerId]))[0].plan_id;
    await sql(`update payments set stripe_customer_id = 'cus_dana', stripe_payment_method_id = 'pm_dana' where customer_id = ?`, [customerId]);
    const charge = `mutation($i: ChargeWithRetryInput!) { chargeWithRetry(input: $i) { outcome nextAttemptAt message payment { status kind } job { status reason } } }`;
    h.stripe.declineNext('card_declined', 'insufficient_funds');
    const queued = must(await h.gql(charge, { i: { customerId, planId: plan } }, { token: h.tokens.operator }));
    expect(queued.chargeWithRetry).toMatchObject({ outcome: 'QUEUED', payment: { status: 'FAILED', kind: 'OFF_SESSION' }, job: { status: 'QUEUED', reason: 'INSUFFICIENT_FUNDS' } });
    expect(new Date(queued.chargeWithRetry.nextAttemptAt).getTime()).toBe(h.clock.now().getTime() + 24 * HOUR);
    const conflict = await h.gql(charge, { i: { customerId, planId: plan } }, { token: h.tokens.operator });
    expect(conflict.errors?.[0].extensions?.code).toBe('CONFLICT');
  });
});
