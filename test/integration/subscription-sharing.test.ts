import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { Topic } from '../../src/platform/shared/topics';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { collect, eventually, signToken, startHarness, type Harness } from '../support/harness';

/**
 * An event is executed once per audience and the result shared (src/platform/graphql/shared-subscription-execution.ts).
 * These check that sharing never crosses an audience: filters still apply per subscriber, and a
 * customer never receives what was computed for another customer.
 */
describe('one event, many subscribers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const ACCESS = `subscription { accessChanged { customerId status } }`;
  type Sub = ReturnType<typeof collect<{ accessChanged: { customerId: string; status: string } }>>;
  const real = (sub: Sub) => sub.events.map((e) => e.accessChanged).filter((c) => c.status !== 'PROBE');

  /** Publishes probes for a customer until the subscription has one: it is registered. */
  async function probeUntilLive(customerId: string, sub: Sub): Promise<void> {
    await eventually(async () => {
      h.app.services.pubsub.publish(Topic.ACCESS_CHANGED, { customerId, bundleId: 'probe', subscriptionId: 'probe', status: 'PROBE', at: new Date() });
      return sub.events.length > 0;
    }, 5000, 50);
  }

  it('gives each customer only their own access changes and staff all of them', async () => {
    const seed = await seedCatalog(h);
    const other = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'Otto Other', telegramUserId: '700100999' } })).createCustomer.id as string;
    const mine = collect(h.wsClient({ token: await signToken(seed.customerId, 'CUSTOMER') }), ACCESS);
    const theirs = collect(h.wsClient({ token: await signToken(other, 'CUSTOMER') }), ACCESS);
    const staff = [collect(h.wsClient({ token: h.tokens.viewer }), ACCESS), collect(h.wsClient({ token: h.tokens.operator }), ACCESS)];
    await probeUntilLive(seed.customerId, mine);
    await probeUntilLive(other, theirs);
    for (const sub of staff) await probeUntilLive(seed.customerId, sub);

    for (const customerId of [seed.customerId, other]) {
      const payment = await createPayment(h, customerId, seed.planId);
      await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    }
    await eventually(async () => real(theirs).length > 0 && staff.every((s) => real(s).length >= 2));

    expect(real(mine)).toEqual([{ customerId: seed.customerId, status: 'ACTIVE' }]);
    expect(real(theirs)).toEqual([{ customerId: other, status: 'ACTIVE' }]);
    for (const sub of staff) {
      expect(real(sub).map((c) => c.customerId).sort()).toEqual([seed.customerId, other].sort());
    }
    // Probes for one customer never reached the other either.
    expect(mine.events.every((e) => e.accessChanged.customerId === seed.customerId)).toBe(true);
    expect(theirs.events.every((e) => e.accessChanged.customerId === other)).toBe(true);
  });

  it('applies each subscriber its own filter when forty share one alert', async () => {
    const query = `subscription($min: AlertSeverity) { alertRaised(minSeverity: $min) { title severity } }`;
    const high = Array.from({ length: 20 }, () => collect(h.wsClient({ token: h.tokens.viewer }), query, { min: 'HIGH' }));
    const all = Array.from({ length: 20 }, () => collect(h.wsClient({ token: h.tokens.viewer }), query));
    const raise = (title: string, severity: AlertSeverity) =>
      h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity, title, detail: title, fingerprint: title });
    let probes = 0;
    await eventually(async () => {
      await raise(`probe-${probes++}`, AlertSeverity.CRITICAL);
      return [...high, ...all].every((s) => s.events.length > 0);
    }, 10_000, 100);

    await raise('low', AlertSeverity.LOW);
    await raise('high', AlertSeverity.HIGH);
    await raise('last', AlertSeverity.CRITICAL);
    const titles = (sub: (typeof high)[number]) => sub.events.map((e) => e.alertRaised.title).filter((t: string) => !t.startsWith('probe-'));
    await eventually(async () => [...high, ...all].every((s) => titles(s).includes('last')));

    for (const sub of high) expect(titles(sub)).toEqual(['high', 'last']);
    for (const sub of all) expect(titles(sub)).toEqual(['low', 'high', 'last']);
  });
});
