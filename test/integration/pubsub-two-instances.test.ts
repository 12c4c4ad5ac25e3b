import type { Client } from 'graphql-ws';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { collect, eventually, startHarness, type Harness } from '../support/harness';

type Sub = ReturnType<typeof collect<any>>;

const ALERTS = `subscription { alertRaised { id title } }`;
let probes = 0;

const raise = (h: Harness, title: string) =>
  h.app.services.alerts.raiseNow({ type: 'PAYMENT_FAILED' as any, severity: 'HIGH' as any, title, detail: 'declined', subjectType: 'payment', subjectId: title });

/**
 * Raises probe alerts through `via` until `sub` has one: proves the subscription is registered on
 * the server without a fixed sleep. Probes publish after commit, so a late one may still arrive.
 */
async function live(via: Harness, sub: Sub): Promise<void> {
  for (let i = 0; i < 50 && sub.events.length === 0; i++) {
    await raise(via, `probe-${++probes}`);
    await sub.waitFor(1, 100).catch(() => undefined);
  }
  await sub.waitFor(1);
}

const titles = (sub: Sub): string[] => sub.events.map((e) => e.alertRaised.title).filter((t: string) => !t.startsWith('probe-'));
const arrives = (sub: Sub, title: string, timeoutMs?: number) => eventually(async () => titles(sub).includes(title), timeoutMs);

async function startPair(env: Record<string, string>): Promise<{ a: Harness; b: Harness; db: TestDatabase }> {
  const db = await createTestDatabase();
  // One after the other: both run the (idempotent) migrations on start.
  const a = await startHarness({ database: db, env });
  const b = await startHarness({ database: db, env });
  return { a, b, db };
}

async function stopPair(pair: { a?: Harness; b?: Harness; db?: TestDatabase }): Promise<void> {
  await pair.a?.close();
  await pair.b?.close();
  await pair.db?.drop();
}

describe('two instances on one database, PUBSUB=postgres', () => {
  let pair: { a: Harness; b: Harness; db: TestDatabase };
  beforeAll(async () => {
    pair = await startPair({ PUBSUB: 'postgres' });
  });
  afterAll(async () => stopPair(pair ?? {}));

  it('reports POSTGRES as its pubsub mode', async () => {
    const { systemHealth } = must(await pair.b.gql(`{ systemHealth { pubsubMode } }`));
    expect(systemHealth.pubsubMode).toBe('POSTGRES');
  });

  it("delivers an alert raised on A to B's subscriber, exactly once, and to A's own once", async () => {
    const { a, b } = pair;
    const onB = collect(b.wsClient({ token: b.tokens.viewer }), ALERTS);
    const onA = collect(a.wsClient({ token: a.tokens.viewer }), ALERTS);
    await live(b, onB);
    await live(a, onA);

    await raise(a, 'raised on A');
    await arrives(onB, 'raised on A');
    // A later event bounds the wait: a duplicate of A's alert would have arrived before it.
    await raise(b, 'raised on B');
    await arrives(onB, 'raised on B');
    await arrives(onA, 'raised on B');
    expect(titles(onB)).toEqual(['raised on A', 'raised on B']);
    expect(titles(onA)).toEqual(['raised on A', 'raised on B']);
  });

  it("delivers a payment status change from A's Stripe webhook to B's paymentStatusChanged subscriber", async () => {
    const { a, b } = pair;
    const { customerId, planId } = await seedCatalog(a);
    const payment = await createPayment(a, customerId, planId);
    const client: Client = b.wsClient({ token: b.tokens.viewer });
    const changes = collect(client, `subscription($id: ID) { paymentStatusChanged(paymentId: $id) { paymentId from to actor payment { status } } }`, { id: payment.id });
    // Subscribed after `changes` on the same socket: once it is live, so is `changes`.
    await live(b, collect(client, ALERTS));

    // A's fake Stripe posts its webhooks to A only.
    const paid = await a.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    expect(paid.deliveries.length).toBeGreaterThan(0);
    expect(paid.deliveries.every((d) => d.status === 200)).toBe(true);

    const [change] = await changes.waitFor(1);
    expect(change.paymentStatusChanged).toEqual({
      paymentId: payment.id,
      from: 'PENDING',
      to: 'SUCCEEDED',
      actor: 'system:stripe-webhook',
      payment: { status: 'SUCCEEDED' },
    });
  });
});

describe('two instances on one database, PUBSUB=memory (the default)', () => {
  let pair: { a: Harness; b: Harness; db: TestDatabase };
  beforeAll(async () => {
    pair = await startPair({});
  });
  afterAll(async () => stopPair(pair ?? {}));

  it("does not deliver A's alert to B's subscriber: why postgres mode exists", async () => {
    const { a, b } = pair;
    const onB = collect(b.wsClient(), ALERTS);
    await live(b, onB);

    const { alert } = await raise(a, 'only A knows live');
    await expect(arrives(onB, 'only A knows live', 500)).rejects.toThrow('condition not met within 500 ms');
    // The row is shared; only the live event stayed in A's process.
    const { alert: seen } = must(await b.gql(`query($id: ID!) { alert(id: $id) { title } }`, { id: alert.id }));
    expect(seen).toEqual({ title: 'only A knows live' });
  });
});
