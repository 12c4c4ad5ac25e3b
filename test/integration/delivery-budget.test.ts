import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const MAX_ATTEMPTS = 3;

/**
 * The delivery's retry budget: a Telegram that keeps refusing (5xx, 429) is retried with backoff
 * DELIVERY_MAX_ATTEMPTS times in all, then the delivery is FAILED for good with one HIGH
 * DELIVERY_FAILED alert; nothing retries it until an operator does.
 */
describe('delivery retry budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS) } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => {
    await h.reset();
    h.telegram.clearFaults();
  });

  const DELIVERY = `query($id: ID!) { payment(id: $id) { status deliveryStatus deliveryAttempts deliveryRecovered deliveryFailureReason } }`;
  const deliveryOf = async (id: string) => must(await h.gql(DELIVERY, { id })).payment;
  const ALERTS = `{ alerts(filter: { types: [DELIVERY_FAILED] }) { edges { node { severity subjectType subjectId title detail occurrences resolvedAt resolutionNote } } } }`;
  const alerts = async () => must(await h.gql(ALERTS)).alerts.edges.map((e: any) => e.node);

  async function paidWhileTelegramFails(fault: { errorCode: number; description: string; retryAfter?: number }) {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failAll('sendMessage', fault);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    const failed = await eventually(async () => {
      const d = await deliveryOf(payment.id);
      return d.deliveryStatus === 'FAILED' && d;
    }, 15_000);
    await h.app.services.dispatcher.whenIdle();
    return { id: payment.id, failed };
  }

  it(`a Telegram that keeps answering 5xx: ${MAX_ATTEMPTS} attempts, then FAILED with one HIGH DELIVERY_FAILED alert`, async () => {
    const { id, failed } = await paidWhileTelegramFails({ errorCode: 502, description: 'Bad Gateway' });

    expect(failed).toMatchObject({ status: 'SUCCEEDED', deliveryAttempts: MAX_ATTEMPTS, deliveryRecovered: false });
    expect(failed.deliveryFailureReason).toContain(`(gave up after ${MAX_ATTEMPTS} attempts)`);
    // Every attempt sent one message, with the one stored link.
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(MAX_ATTEMPTS);
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1);
    expect(await alerts()).toEqual([
      expect.objectContaining({ severity: 'HIGH', subjectType: 'payment', subjectId: id, title: 'Invite links could not be delivered', occurrences: 1, resolvedAt: null }),
    ]);
    expect((await alerts())[0].detail).toContain('run recoverPayment');

    // Spent is final: the recovery sweep does not try again.
    const report = await h.app.services.recoverySweep.run('sweep');
    expect(report.claimed).toBe(0);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(MAX_ATTEMPTS);
    expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'FAILED', deliveryAttempts: MAX_ATTEMPTS });
  });

  it('429 Too Many Requests counts against the same budget', async () => {
    const { failed } = await paidWhileTelegramFails({ errorCode: 429, description: 'Too Many Requests: retry after 0', retryAfter: 0 });
    expect(failed).toMatchObject({ deliveryAttempts: MAX_ATTEMPTS });
    expect(failed.deliveryFailureReason).toContain(`(gave up after ${MAX_ATTEMPTS} attempts)`);
    expect(await alerts()).toHaveLength(1);
  });

  it('once Telegram works again, recoverPayment delivers with a fresh budget and resolves the alert', async () => {
    const { id } = await paidWhileTelegramFails({ errorCode: 500, description: 'Internal Server Error' });
    h.telegram.clearFaults();

    const outcome = must(await h.gql(`mutation($id: ID!) { recoverPayment(paymentId: $id) { status attempts } }`, { id }, { token: h.tokens.operator })).recoverPayment;

    expect(outcome).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryRecovered: true, deliveryFailureReason: null });
    expect(h.telegram.callsTo('createChatInviteLink')).toHaveLength(1);
    const [alert] = await alerts();
    expect(alert.resolvedAt).not.toBeNull();
    expect(alert.resolutionNote).toContain('delivered');
  });
});
