import { startHarness, collect, eventually, type Harness } from '../support/harness';
import { createPayment, seedCatalog, must } from '../support/fixtures';
import { Topic } from '../../src/platform/shared/topics';

describe('delivery of invite links', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const deliveryOf = async (id: string) =>
    must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus deliveryAttempts deliveryRecovered deliveredAt deliveryFailureReason } }`, { id })).payment;

  it('creates one single-use link per channel and sends one message, then marks DELIVERED', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const delivered = await eventually(async () => {
      const d = await deliveryOf(payment.id);
      return d.deliveryStatus === 'DELIVERED' ? d : null;
    });
    expect(delivered.deliveryAttempts).toBe(1);
    expect(delivered.deliveryRecovered).toBe(false);
    const links = h.telegram.callsTo('createChatInviteLink');
    expect(links).toHaveLength(1);
    expect(links[0].params).toMatchObject({ member_limit: 1 });
    const messages = h.telegram.callsTo('sendMessage');
    expect(messages).toHaveLength(1);
    expect(String(messages[0].params.chat_id)).toBe('700100200');
    expect(String(messages[0].params.text)).toContain('Pro monthly');
  });

  it('backs off while Telegram fails, then delivers and marks the payment recovered', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failNext('sendMessage', { errorCode: 500, description: 'Internal Server Error', times: 2 });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const delivered = await eventually(async () => {
      const d = await deliveryOf(payment.id);
      return d.deliveryStatus === 'DELIVERED' ? d : null;
    });
    expect(delivered.deliveryAttempts).toBe(3);
    expect(delivered.deliveryRecovered).toBe(true);
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1); // the stored link was reused
  });

  it('fails for good on a blocked bot, with a HIGH alert', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failNext('sendMessage', { errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const failed = await eventually(async () => {
      const d = await deliveryOf(payment.id);
      return d.deliveryStatus === 'FAILED' ? d : null;
    });
    expect(failed.deliveryFailureReason).toContain('blocked');
    const alerts = must(await h.gql(`{ alerts(filter: { types: [DELIVERY_FAILED] }) { edges { node { severity subjectId } } } }`));
    expect(alerts.alerts.edges).toEqual([{ node: { severity: 'HIGH', subjectId: payment.id } }]);
  });

  it('tells deliveryStatusChanged subscribers: PENDING when paid, then DELIVERED', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const sub = collect(h.wsClient({ token: h.tokens.viewer }), `subscription($id: ID) { deliveryStatusChanged(paymentId: $id) { from to attempts reason } }`, { id: payment.id });
    // A probe proves the subscription is registered before the payment is made.
    await eventually(async () => {
      h.app.services.pubsub.publish(Topic.DELIVERY_STATUS_CHANGED, { paymentId: payment.id, customerId, from: null, to: 'PENDING', attempts: 0, reason: 'probe', recovered: false, at: new Date() });
      return sub.events.length > 0;
    }, 5000, 50);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);

    const changes = () => sub.events.map((e) => e.deliveryStatusChanged).filter((c) => c.reason !== 'probe');
    await eventually(async () => changes().length >= 2);
    expect(changes()).toEqual([
      { from: null, to: 'PENDING', attempts: 0, reason: null },
      { from: 'IN_PROGRESS', to: 'DELIVERED', attempts: 1, reason: null },
    ]);
  });
});
