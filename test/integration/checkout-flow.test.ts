import { collect, eventually, startHarness, type Harness } from '../support/harness';
import { createPayment, paymentStatus, seedCatalog } from '../support/fixtures';

describe('checkout to paid, end to end', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  it('creates a Checkout Session with our id as metadata and an idempotency key from our id', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);

    expect(payment.status).toBe('PENDING');
    expect(payment.amountMinor).toBe(2500);
    expect(payment.checkoutUrl).toMatch(/\/pay\/cs_/);
    const create = h.stripe.requests.find((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions')!;
    expect(create.idempotencyKey).toBe(`checkout:${payment.id}`);
    expect((create.body as any).metadata.paymentId).toBe(payment.id);
  });

  it('moves the payment to SUCCEEDED when the customer pays, and tells subscribers', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const changes = collect(h.wsClient(), `subscription($id: ID) { paymentStatusChanged(paymentId: $id) { paymentId from to actor payment { status succeededAt } } }`, { id: payment.id });
    await new Promise((r) => setTimeout(r, 150)); // let the subscription register before the event

    const paid = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    expect(paid.deliveries.every((d) => d.status === 200)).toBe(true);

    expect(await paymentStatus(h, payment.id)).toBe('SUCCEEDED');
    const [change] = await changes.waitFor(1);
    expect(change.paymentStatusChanged).toMatchObject({ paymentId: payment.id, from: 'PENDING', to: 'SUCCEEDED', actor: 'system:stripe-webhook' });
    expect(change.paymentStatusChanged.payment.succeededAt).toBeTruthy();
  });

  it('cancels the payment and raises an alert when Stripe refuses to open checkout', async () => {
    const { customerId, planId } = await seedCatalog(h);
    h.stripe.failNext({ method: 'POST', path: '/v1/checkout/sessions' }, { status: 500, error: { type: 'api_error', message: 'boom' } });
    const result = await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome } }`, { i: { customerId, planId } });

    expect(result.errors?.[0].extensions?.code).toBe('GATEWAY_ERROR');
    const payments = await h.gql(`{ payments(first: 5) { edges { node { status } } } alerts(filter: { open: true }) { edges { node { type severity } } } }`);
    expect(payments.data!.payments.edges.map((e: any) => e.node.status)).toEqual(['CANCELLED']);
    expect(payments.data!.alerts.edges[0].node).toEqual({ type: 'CHECKOUT_FAILED', severity: 'MEDIUM' });
  });

  it('answers coded errors for unknown ids and bad input', async () => {
    const { customerId } = await seedCatalog(h);
    const unknownPlan = await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome } }`, { i: { customerId, planId: '00000000-0000-4000-8000-000000000000' } });
    expect(unknownPlan.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const notUuid = await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome } }`, { i: { customerId, planId: 'nope' } });
    expect(notUuid.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badPrice = await h.gql(`mutation { createPlan(input: { bundleId: "00000000-0000-4000-8000-000000000000", name: "x", amountMinor: -5, currency: "usd", durationDays: 30 }) { id } }`);
    expect(badPrice.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    await eventually(async () => (await h.gql(`{ payments { totalCount } }`)).data!.payments.totalCount === 0);
  });
});
