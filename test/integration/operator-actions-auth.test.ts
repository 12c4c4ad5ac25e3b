import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const ACTIONS: Array<[string, string, (ids: Ids) => Record<string, unknown>]> = [
  ['capturePayment', `mutation($id: ID!) { capturePayment(paymentId: $id) { id } }`, (ids) => ({ id: ids.authorized })],
  ['syncPaymentWithGateway', `mutation($id: ID!) { syncPaymentWithGateway(paymentId: $id) { id } }`, (ids) => ({ id: ids.paid })],
  ['releaseAuthorization', `mutation($id: ID!) { releaseAuthorization(paymentId: $id) { id } }`, (ids) => ({ id: ids.authorized })],
  ['refundPayment', `mutation($id: ID!) { refundPayment(paymentId: $id, amountMinor: 100, reason: "x") { refund { id } } }`, (ids) => ({ id: ids.paid })],
  ['runReconciliation', `mutation { runReconciliation(wait: true) { id } }`, () => ({})],
  ['resolveAlert', `mutation($id: ID!) { resolveAlert(id: $id) { id } }`, (ids) => ({ id: ids.alert })],
];

interface Ids {
  paid: string;
  authorized: string;
  alert: string;
}

const AUDIT = `query($id: ID!) { auditTrail(subject: $id, subjectType: "payment", first: 20) { totalCount edges { node { actor action before after note requestId } } } }`;

describe('operator actions: roles and audit', () => {
  let h: Harness;
  let ids: Ids;

  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    const auto = await seedCatalog(h);
    const manual = await seedCatalog(h, { captureMode: 'MANUAL' });
    await h.app.services.db.fork().execute(`update customers set telegram_user_id = null where id = ?`, [manual.customerId]);
    const paid = await createPayment(h, auto.customerId, auto.planId);
    const authorized = await createPayment(h, manual.customerId, manual.planId);
    await h.stripe.completeCheckout(paid.stripeCheckoutSessionId);
    await h.stripe.completeCheckout(authorized.stripeCheckoutSessionId);
    await eventually(async () => (await paymentStatus(h, paid.id)) === 'SUCCEEDED' && (await paymentStatus(h, authorized.id)) === 'AUTHORIZED');
    const { alert } = await h.app.services.alerts.raiseNow({ type: 'PAYMENT_FAILED' as never, severity: 'HIGH' as never, title: 't', detail: 'd', subjectType: 'payment', subjectId: paid.id });
    ids = { paid: paid.id, authorized: authorized.id, alert: alert.id };
  });
  afterAll(async () => h?.close());

  it.each(ACTIONS)('%s is FORBIDDEN to a VIEWER (token and API key) and changes nothing', async (_name, query, variables) => {
    const requestsBefore = h.stripe.requests.length;
    for (const auth of [{ token: h.tokens.viewer }, { token: null, apiKey: 'viewer-key-0123456789abcdef' }]) {
      const result = await h.gql(query, variables(ids), auth);
      expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(result.data).toBeNull();
    }
    expect(h.stripe.requests.length).toBe(requestsBefore);
    expect((await h.gql(query, variables(ids), { token: null })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets a VIEWER read the audit trail but not write it', async () => {
    const trail = must(await h.gql(AUDIT, { id: ids.paid }, { token: h.tokens.viewer })).auditTrail;
    expect(trail.edges.map((e: any) => e.node.action)).toContain('payment.create');
    expect(trail.edges.some((e: any) => /^payment\.(capture|release|refund|sync)$/.test(e.node.action))).toBe(false);
  });

  it('audits each operator action with who, before and after, and the request id', async () => {
    const as = { token: h.tokens.operator };
    must(await h.gql(`mutation($id: ID!) { syncPaymentWithGateway(paymentId: $id) { id } }`, { id: ids.paid }, as));
    must(await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, amountMinor: 500, reason: "late delivery") { refund { id } } }`, { id: ids.paid }, as));
    must(await h.gql(`mutation($id: ID!) { releaseAuthorization(paymentId: $id, reason: "customer cancelled") { status } }`, { id: ids.authorized }, as));

    const paidTrail = must(await h.gql(AUDIT, { id: ids.paid }, { token: h.tokens.viewer })).auditTrail.edges.map((e: any) => e.node);
    const sync = paidTrail.find((n: any) => n.action === 'payment.sync');
    expect(sync).toMatchObject({ actor: 'operator:olga-operator', before: { status: 'SUCCEEDED', refundedMinor: 0 }, after: { status: 'SUCCEEDED', refundedMinor: 0 } });
    expect(sync.requestId).toBeTruthy();
    const refund = paidTrail.find((n: any) => n.action === 'payment.refund');
    expect(refund).toMatchObject({ actor: 'operator:olga-operator', before: { refundedMinor: 0 }, after: { refundedMinor: 500, amountMinor: 500 } });
    expect(refund.note).toContain('late delivery');

    const authTrail = must(await h.gql(AUDIT, { id: ids.authorized }, { token: h.tokens.viewer })).auditTrail.edges.map((e: any) => e.node);
    expect(authTrail.find((n: any) => n.action === 'payment.release')).toMatchObject({ actor: 'operator:olga-operator', before: { status: 'AUTHORIZED' }, after: { status: 'CANCELLED' } });
    // The state machine's own entry for the same change, attributed to the same operator.
    expect(authTrail.find((n: any) => n.action === 'payment.transition' && n.after.status === 'CANCELLED')).toMatchObject({ actor: 'operator:olga-operator' });
    expect(h.stripe.store.paymentIntents.newestFirst().find((pi) => pi.metadata.paymentId === ids.authorized)?.status).toBe('canceled');
  });

  it('re-reads the PaymentIntent from Stripe before acting (read-through)', async () => {
    const before = h.stripe.requests.length;
    must(await h.gql(`mutation($id: ID!) { syncPaymentWithGateway(paymentId: $id) { id } }`, { id: ids.paid }, { token: h.tokens.operator }));
    const calls = h.stripe.requests.slice(before);
    expect(calls[0]).toMatchObject({ method: 'GET' });
    expect(calls[0].path).toMatch(/^\/v1\/payment_intents\/pi_/);
  });
});
