import { eventually, startHarness, type Harness } from '../support/harness';
import { must } from '../support/fixtures';

/**
 * Cashfree, the second gateway, end to end: the real server and the real cashfree-pg SDK against
 * the fake Cashfree over HTTP, signed webhooks into the inbox, the same PaymentSync and
 * PaymentTransitions as Stripe, delivery to the fake Telegram.
 */
const PAYMENT = `id status gateway gatewayOrderId amountMinor currency checkoutUrl stripeCheckoutSessionId refundedMinor deliveryStatus failureCode`;
const REFUND = `mutation($id: ID!, $amount: Int, $reason: String!) {
  refundPayment(paymentId: $id, amountMinor: $amount, reason: $reason) {
    refund { id amountMinor status reason }
    payment { id status refundedMinor refunds { id amountMinor status } }
  }
}`;

describe('Cashfree: a second gateway behind the same payment model', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ cashfree: true });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const cashfree = () => h.cashfree!;

  async function seed(plan: Record<string, unknown> = {}) {
    const channel = must(await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: `-100${Math.floor(Math.random() * 1e10)}`, title: 'Signals' } })).createChannel.id;
    const bundleId = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Pro bundle', channelIds: [channel] } })).createBundle.id;
    const created = await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id gateway captureMode } }`, {
      i: { bundleId, name: 'Pro monthly', amountMinor: 1999, currency: 'inr', durationDays: 30, gateway: 'CASHFREE', ...plan },
    });
    const customerId = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, {
      i: { name: 'Dana Buyer', email: 'dana@example.com', phone: '+919876543210', telegramUserId: '700100200' },
    })).createCustomer.id;
    return { bundleId, customerId, created, planId: created.data?.createPlan?.id as string };
  }

  async function checkout(customerId: string, planId: string) {
    const result = must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome payment { ${PAYMENT} } } }`, { i: { customerId, planId } }, { token: h.tokens.operator }));
    expect(result.createPayment.outcome).toBe('CREATED');
    return result.createPayment.payment;
  }

  const payment = async (id: string) => must(await h.gql(`query($id: ID!) { payment(id: $id) { ${PAYMENT} } }`, { id })).payment;
  const cashfreeEvents = async () => must(await h.gql(`{ inboundEvents(first: 50, filter: { source: CASHFREE }) { totalCount edges { node { eventId type appliedAt outcome } } } }`)).inboundEvents;
  const alerts = async () => must(await h.gql(`{ alerts(first: 50, filter: { open: true }) { edges { node { type severity } } } }`)).alerts.edges.map((e: any) => e.node.type as string);

  async function paid() {
    const { customerId, planId } = await seed();
    const p = await checkout(customerId, planId);
    const { delivery } = await cashfree().pay(p.id, 'success');
    expect(delivery).toMatchObject({ status: 200, ok: true });
    await eventually(async () => (await payment(p.id)).deliveryStatus === 'DELIVERED');
    return p;
  }

  it('a Cashfree plan: the order is created with our id and two-decimal rupees, paid on the hosted page, SUCCEEDED, invite links delivered', async () => {
    const { customerId, planId, created } = await seed();
    expect(created.data?.createPlan).toMatchObject({ gateway: 'CASHFREE', captureMode: 'AUTOMATIC' });
    const p = await checkout(customerId, planId);
    expect(p).toMatchObject({ status: 'PENDING', gateway: 'CASHFREE', gatewayOrderId: p.id, amountMinor: 1999, currency: 'inr', stripeCheckoutSessionId: null });
    const order = cashfree().engine.orders.get(p.id)!;
    expect(p.checkoutUrl).toBe(`${cashfree().checkoutUrl}${order.paymentSessionId}`);
    const create = cashfree().requests.find((r) => r.method === 'POST' && r.path === '/orders')!;
    expect(create.body).toMatchObject({ order_id: p.id, order_amount: 19.99, order_currency: 'INR', customer_details: { customer_phone: '+919876543210' }, order_tags: { paymentId: p.id } });
    expect(create.headers['x-api-version']).toBeTruthy();

    // The customer opens checkoutUrl and pays on the (fake) hosted page.
    const page = await fetch(p.checkoutUrl);
    expect(await page.text()).toContain('Pay 19.99 INR');
    const submitted = await fetch(p.checkoutUrl, { method: 'POST', body: new URLSearchParams({ outcome: 'success' }), redirect: 'manual' });
    expect(submitted.status).toBe(303);

    const delivered = await eventually(async () => {
      const now = await payment(p.id);
      return now.deliveryStatus === 'DELIVERED' ? now : null;
    });
    expect(delivered.status).toBe('SUCCEEDED');
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1);
    const messages = h.telegram.callsTo('sendMessage');
    expect(messages).toHaveLength(1);
    expect(String(messages[0].params.chat_id)).toBe('700100200');
    const events = await cashfreeEvents();
    expect(events.edges.map((e: any) => e.node)).toEqual([expect.objectContaining({ type: 'PAYMENT_SUCCESS_WEBHOOK', outcome: 'PENDING -> SUCCEEDED' })]);
    const access = must(await h.gql(`query($c: ID!) { customerAccess(customerId: $c) { subscriptions { subscription { status } } } }`, { c: customerId }));
    expect(access.customerAccess.subscriptions).toEqual([{ subscription: { status: 'ACTIVE' } }]);
  });

  it('a redelivered webhook is a duplicate: applied once, one delivery', async () => {
    const p = await paid();
    const success = cashfree().engine.paymentWebhook(cashfree().engine.orders.get(p.id)!, cashfree().engine.attempts[0]);
    const again = await cashfree().send(success);
    expect(again).toMatchObject({ status: 200 });
    expect((await cashfreeEvents()).totalCount).toBe(1);
    expect((await payment(p.id)).status).toBe('SUCCEEDED');
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
    const audit = must(await h.gql(`query($id: ID!) { auditTrail(first: 50, subject: $id) { edges { node { action after } } } }`, { id: p.id })).auditTrail.edges.map((e: any) => e.node);
    expect(audit.filter((a: any) => a.action === 'payment.transition' && a.after?.status === 'SUCCEEDED')).toHaveLength(1);
  });

  it('a failure after the success changes nothing; a failure before it is not final', async () => {
    const { customerId, planId } = await seed();
    const p = await checkout(customerId, planId);
    await cashfree().pay(p.id, 'failed');
    expect(await payment(p.id)).toMatchObject({ status: 'FAILED', failureCode: 'TRANSACTION_DECLINED' });
    expect(await alerts()).toContain('PAYMENT_FAILED');

    await cashfree().pay(p.id, 'success');
    expect((await payment(p.id)).status).toBe('SUCCEEDED');

    // A late failure of another attempt, delivered after the success: the order is PAID, the rank is lower.
    const order = cashfree().engine.orders.get(p.id)!;
    const late = cashfree().engine.paymentWebhook(order, { cfPaymentId: '9999000011', orderId: p.id, outcome: 'failed', amountMinor: 1999, at: new Date() });
    expect(await cashfree().send(late)).toMatchObject({ status: 200 });
    expect((await payment(p.id)).status).toBe('SUCCEEDED');
    const events = (await cashfreeEvents()).edges.map((e: any) => e.node);
    expect(events).toHaveLength(3);
    expect(events.every((e: any) => e.appliedAt)).toBe(true);
  });

  it('a customer who leaves the page leaves the payment payable (FAILED, no alert)', async () => {
    const { customerId, planId } = await seed();
    const p = await checkout(customerId, planId);
    await cashfree().pay(p.id, 'dropped');
    expect(await payment(p.id)).toMatchObject({ status: 'FAILED', failureCode: 'user_dropped' });
    expect(await alerts()).not.toContain('PAYMENT_FAILED');
    await cashfree().pay(p.id, 'success');
    expect((await payment(p.id)).status).toBe('SUCCEEDED');
  });

  it('a bad signature is answered 400 and nothing is stored', async () => {
    const { customerId, planId } = await seed();
    const p = await checkout(customerId, planId);
    const { webhook } = await cashfree().pay(p.id, 'success', { sendWebhook: false });
    expect(await cashfree().send(webhook, { signature: 'bm90IGEgc2lnbmF0dXJl' })).toMatchObject({ status: 400 });
    const raw = JSON.stringify(webhook.body);
    const unsigned = await fetch(`${h.url}/webhooks/cashfree`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
    expect(unsigned.status).toBe(400);
    // Signed for other bytes: the amount changed in transit.
    const timestamp = String(Date.now());
    const forged = await fetch(`${h.url}/webhooks/cashfree`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-timestamp': timestamp, 'x-webhook-signature': cashfree().sign(raw, timestamp) },
      body: raw.replace('19.99', '1.99'),
    });
    expect(forged.status).toBe(400);
    expect((await cashfreeEvents()).totalCount).toBe(0);
    expect((await payment(p.id)).status).toBe('PENDING');
  });

  it('refundPayment goes to Cashfree with our refund id; retrying it never refunds twice; the refund webhook settles it', async () => {
    const p = await paid();
    const first = must(await h.gql(REFUND, { id: p.id, amount: 1999, reason: 'customer asked' })).refundPayment;
    expect(first.refund).toMatchObject({ amountMinor: 1999, status: 'PENDING' });
    expect(first.payment).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0 });
    expect(cashfree().engine.refunds).toEqual([expect.objectContaining({ refundId: first.refund.id, amountMinor: 1999, status: 'PENDING' })]);
    expect(cashfree().requests.find((r) => r.method === 'POST' && r.path.endsWith('/refunds'))!.body).toMatchObject({ refund_id: first.refund.id, refund_amount: 19.99 });

    const retried = must(await h.gql(REFUND, { id: p.id, amount: 1999, reason: 'customer asked' })).refundPayment;
    expect(retried.refund.id).toBe(first.refund.id);
    expect(retried.payment.refunds).toHaveLength(1);
    expect(cashfree().engine.refunds).toHaveLength(1);
    expect(cashfree().countRequests('POST', /\/refunds$/)).toBe(2);

    const settled = await cashfree().settleRefund(first.refund.id, 'SUCCESS');
    expect(settled.delivery).toMatchObject({ status: 200 });
    const after = must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor refunds { id status } } }`, { id: p.id })).payment;
    expect(after).toEqual({ status: 'REFUNDED', refundedMinor: 1999, refunds: [{ id: first.refund.id, status: 'SUCCEEDED' }] });
    // Our own refund's echo raises no PAYMENT_REFUNDED alert; the webhook again changes nothing.
    expect(await alerts()).not.toContain('PAYMENT_REFUNDED');
    expect(await cashfree().send(settled.webhook)).toMatchObject({ status: 200 });
    expect((await payment(p.id)).refundedMinor).toBe(1999);
    const third = await h.gql(REFUND, { id: p.id, amount: 1, reason: 'again' });
    expect(third.errors?.[0].extensions?.code).toMatch(/CONFLICT|BAD_USER_INPUT/);
    expect(cashfree().engine.refunds).toHaveLength(1);
  });

  it('a refund whose answer was lost is found again by its id on the retry, not made twice', async () => {
    const p = await paid();
    cashfree().failNext({ method: 'POST', path: /\/refunds$/ }, { status: 502, afterApplying: true });
    const lost = await h.gql(REFUND, { id: p.id, amount: 500, reason: 'partial' });
    expect(lost.errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    expect(cashfree().engine.refunds).toHaveLength(1);
    const retried = must(await h.gql(REFUND, { id: p.id, amount: 500, reason: 'partial' })).refundPayment;
    expect(retried.refund).toMatchObject({ amountMinor: 500, status: 'PENDING', id: cashfree().engine.refunds[0].refundId });
    expect(cashfree().engine.refunds).toHaveLength(1);
    await cashfree().settleRefund(retried.refund.id, 'SUCCESS');
    expect(await payment(p.id)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 500 });
  });

  it('a refund Cashfree cancels is FAILED, refundable again, with a REFUND_FAILED alert', async () => {
    const p = await paid();
    const asked = must(await h.gql(REFUND, { id: p.id, amount: 1999, reason: 'customer asked' })).refundPayment;
    await cashfree().settleRefund(asked.refund.id, 'CANCELLED');
    const after = must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor refunds { status failureMessage } } }`, { id: p.id })).payment;
    expect(after).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 0, refunds: [{ status: 'FAILED' }] });
    expect(await alerts()).toContain('REFUND_FAILED');
    const again = must(await h.gql(REFUND, { id: p.id, amount: 1999, reason: 'second try' })).refundPayment;
    expect(again.refund).toMatchObject({ status: 'PENDING' });
    expect(cashfree().engine.refunds).toHaveLength(2);
  });

  it('refuses what Cashfree cannot do, with BAD_USER_INPUT: manual capture, zero-decimal currencies, off-session charges', async () => {
    const manual = await seed({ captureMode: 'MANUAL' });
    expect(manual.created.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(manual.created.errors?.[0].message).toMatch(/MANUAL/);
    const yen = await seed({ currency: 'jpy' });
    expect(yen.created.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const stripeManual = await seed({ gateway: 'STRIPE', captureMode: 'MANUAL', currency: 'usd' });
    const moved = await h.gql(`mutation($id: ID!) { updatePlan(id: $id, input: { gateway: CASHFREE }) { id } }`, { id: stripeManual.planId });
    expect(moved.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const { customerId, planId } = await seed();
    const charge = await h.gql(`mutation($i: ChargeWithRetryInput!) { chargeWithRetry(input: $i) { message } }`, { i: { customerId, planId } });
    expect(charge.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(charge.errors?.[0].message).toMatch(/off-session/);

    const p = await checkout(customerId, planId);
    await cashfree().pay(p.id, 'failed');
    const retry = await h.gql(`mutation($i: QueueRetryInput!) { queueRetry(input: $i) { outcome } }`, { i: { paymentId: p.id, error: { code: 'card_declined' } } });
    expect(retry.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(cashfree().countRequests('POST', /\/orders$/)).toBe(1);
  });

  it('closing a pending Cashfree payment terminates its order, so it can no longer be paid', async () => {
    const { customerId, planId } = await seed();
    const p = await checkout(customerId, planId);
    const cancelled = must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: p.id }, { token: h.tokens.operator })).cancelPayment;
    expect(cancelled.status).toBe('CANCELLED');
    expect(cashfree().engine.orders.get(p.id)!.status).toBe('TERMINATED');
    expect(cashfree().requests.find((r) => r.method === 'PATCH')).toMatchObject({ path: `/orders/${p.id}`, body: { order_status: 'TERMINATED' } });
    await expect(cashfree().pay(p.id, 'success')).rejects.toThrow(/TERMINATED/);
  });

  it('after a kill between Cashfree\'s answer and our commit (the order id never recorded) closing still terminates the order; with no order at all it just closes', async () => {
    const { customerId, planId } = await seed();
    const sql = (q: string, p: unknown[]) => h.app.services.db.fork().execute(q, p);
    const recorded = await checkout(customerId, planId);
    // What a process killed right after Cashfree created the order leaves behind: our row without the order's id.
    await sql(`update payments set gateway_order_id = null, checkout_url = null where id = ?`, [recorded.id]);
    const closed = must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: recorded.id }, { token: h.tokens.operator })).cancelPayment;
    expect(closed.status).toBe('CANCELLED');
    expect(cashfree().engine.orders.get(recorded.id)!.status).toBe('TERMINATED');
    await expect(cashfree().pay(recorded.id, 'success')).rejects.toThrow(/TERMINATED/);

    // Killed before the order was created: Cashfree answers 404, and there is nothing anyone could pay.
    const other = await seed();
    const never = await checkout(other.customerId, other.planId);
    await sql(`update payments set gateway_order_id = null, checkout_url = null where id = ?`, [never.id]);
    cashfree().engine.orders.delete(never.id);
    const closedToo = must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: never.id }, { token: h.tokens.operator })).cancelPayment;
    expect(closedToo.status).toBe('CANCELLED');
  });

  it('an order paid before its webhook arrives is honoured when we close it, not cancelled', async () => {
    const { customerId, planId } = await seed();
    const p = await checkout(customerId, planId);
    await cashfree().pay(p.id, 'success', { sendWebhook: false });
    const closed = must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id: p.id }, { token: h.tokens.operator })).cancelPayment;
    expect(closed.status).toBe('SUCCEEDED');
    expect(cashfree().engine.orders.get(p.id)!.status).toBe('PAID');
    await eventually(async () => (await payment(p.id)).deliveryStatus === 'DELIVERED');
  });

  it('serves the page that opens Cashfree\'s hosted checkout for a payment session (the default checkoutUrl)', async () => {
    const page = await fetch(`${h.url}/checkout/cashfree/session_abc-123_XYZ`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('https://sdk.cashfree.com/js/v3/cashfree.js');
    expect(html).toContain('paymentSessionId: "session_abc-123_XYZ"');
    expect(html).toContain('mode: "sandbox"');
    expect((await fetch(`${h.url}/checkout/cashfree/${encodeURIComponent('"><script>')}`)).status).toBe(404);
  });

  it('operator actions on authorizations (capture, release) refuse a Cashfree payment with CONFLICT; sync reads Cashfree', async () => {
    const p = await paid();
    const sync = await h.gql(`mutation($id: ID!) { syncPaymentWithGateway(paymentId: $id) { status } }`, { id: p.id });
    expect(must(sync).syncPaymentWithGateway.status).toBe('SUCCEEDED');
    const capture = await h.gql(`mutation($id: ID!) { capturePayment(paymentId: $id) { status } }`, { id: p.id });
    expect(capture.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect((await payment(p.id)).status).toBe('SUCCEEDED');
  });

  it('a Stripe plan in the same server still goes through Stripe', async () => {
    const { customerId, planId } = await seed({ gateway: undefined, currency: 'usd', amountMinor: 2500 });
    const p = await checkout(customerId, planId);
    expect(p).toMatchObject({ gateway: 'STRIPE', gatewayOrderId: null });
    expect(p.stripeCheckoutSessionId).toMatch(/^cs_/);
    expect(cashfree().requests).toHaveLength(0);
  });
});

describe('Cashfree: a late payment under LATE_PAYMENT_POLICY=refund', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ cashfree: true, env: { LATE_PAYMENT_POLICY: 'refund' } });
  });
  afterAll(async () => h?.close());

  it('is refunded through Cashfree under a refund_id from our id, and no access is given', async () => {
    const channel = must(await h.gql(`mutation { createChannel(input: { telegramChatId: "-1009876543210", title: "S" }) { id } }`)).createChannel.id;
    const bundleId = must(await h.gql(`mutation($c: [ID!]) { createBundle(input: { name: "B", channelIds: $c }) { id } }`, { c: [channel] })).createBundle.id;
    const planId = must(await h.gql(`mutation($b: ID!) { createPlan(input: { bundleId: $b, name: "P", amountMinor: 1999, currency: "inr", durationDays: 30, gateway: CASHFREE }) { id } }`, { b: bundleId })).createPlan.id;
    const customerId = must(await h.gql(`mutation { createCustomer(input: { name: "D", phone: "+919800000000", telegramUserId: "7001" }) { id } }`)).createCustomer.id;
    const id = must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { payment { id } } }`, { i: { customerId, planId } })).createPayment.payment.id;
    must(await h.gql(`mutation($id: ID!) { cancelPayment(paymentId: $id) { status } }`, { id }));
    // Cashfree took a payment although we had asked it to terminate the order (TERMINATION_REQUESTED lost the race).
    const fake = h.cashfree!;
    const order = fake.engine.orders.get(id)!;
    order.status = 'ACTIVE';
    const { webhook } = fake.engine.attempt(id, 'success');
    expect(await fake.send(webhook)).toMatchObject({ status: 200 });

    const refunded = await eventually(async () => {
      const p = must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor refundRequestedAt deliveryStatus } }`, { id })).payment;
      return p.status === 'REFUNDED' ? p : null;
    });
    expect(refunded).toMatchObject({ refundedMinor: 1999, refundRequestedAt: null, deliveryStatus: null });
    expect(fake.engine.refunds).toEqual([expect.objectContaining({ refundId: `late${id.replace(/-/g, '')}`, amountMinor: 1999 })]);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);
    await fake.settleRefund(fake.engine.refunds[0].refundId, 'SUCCESS');
    const open = must(await h.gql(`{ alerts(first: 50, filter: { open: true }) { edges { node { type } } } }`)).alerts.edges.map((e: any) => e.node.type);
    expect(open).toContain('LATE_PAYMENT');
    expect(open).not.toContain('PAYMENT_REFUNDED');
    expect(fake.engine.refunds).toHaveLength(1);
  });
});

describe('Cashfree not configured (no CASHFREE_APP_ID)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('a Cashfree plan\'s checkout, and sync or refund of a Cashfree payment made before, answer UNAVAILABLE and change nothing', async () => {
    const channel = must(await h.gql(`mutation { createChannel(input: { telegramChatId: "-1009876543211", title: "S" }) { id } }`)).createChannel.id;
    const bundleId = must(await h.gql(`mutation($c: [ID!]) { createBundle(input: { name: "B", channelIds: $c }) { id } }`, { c: [channel] })).createBundle.id;
    const planId = must(await h.gql(`mutation($b: ID!) { createPlan(input: { bundleId: $b, name: "P", amountMinor: 1999, currency: "inr", durationDays: 30, gateway: CASHFREE }) { id } }`, { b: bundleId })).createPlan.id;
    const customerId = must(await h.gql(`mutation { createCustomer(input: { name: "D", phone: "+919800000000", telegramUserId: "7002" }) { id } }`)).createCustomer.id;
    const checkout = await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome } }`, { i: { customerId, planId } }, { token: h.tokens.operator });
    expect(checkout.errors?.[0].extensions?.code).toBe('UNAVAILABLE');
    expect(must(await h.gql(`{ payments { totalCount } }`)).payments.totalCount).toBe(0);

    // A payment taken through Cashfree while it was configured (the keys since removed).
    const [row] = await h.app.services.db.fork().execute(
      `insert into payments (id, customer_id, plan_id, bundle_id, amount_minor, currency, status, gateway, gateway_order_id, status_changed_at, created_at, updated_at)
       select gen_random_uuid(), ?, p.id, p.bundle_id, 1999, 'inr', 'SUCCEEDED', 'CASHFREE', 'order_1', now(), now(), now() from plans p where p.id = ? returning id`,
      [customerId, planId],
    );
    for (const operation of [`syncPaymentWithGateway(paymentId: $id) { status }`, `refundPayment(paymentId: $id, reason: "asked") { refund { id } }`]) {
      const answer = await h.gql(`mutation($id: ID!) { ${operation} }`, { id: row.id }, { token: h.tokens.operator });
      expect(answer.errors?.[0]).toMatchObject({ extensions: { code: 'UNAVAILABLE' }, message: expect.stringContaining('not configured') });
    }
    expect(must(await h.gql(`query($id: ID!) { payment(id: $id) { status refundedMinor refunds { id } } }`, { id: row.id })).payment).toEqual({ status: 'SUCCEEDED', refundedMinor: 0, refunds: [] });
  });
});
