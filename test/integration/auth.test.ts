import { randomInt } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import { AuditEntry } from '../../src/audit/audit-entry.entity';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { API_KEY, JWT_SECRET, collect, eventually, signToken, startHarness, type Auth, type Harness } from '../support/harness';

type Principal = 'none' | 'viewer' | 'viewerKey' | 'operator' | 'admin' | 'customer' | 'expired' | 'otherSecret' | 'noRole' | 'garbageKey';
type Required = 'VIEWER' | 'OPERATOR' | 'ADMIN';
type Outcome = 'allowed' | string;

const RANK: Partial<Record<Principal, number>> = { viewer: 1, viewerKey: 1, operator: 2, admin: 3 };
const REQUIRED_RANK: Record<Required, number> = { VIEWER: 1, OPERATOR: 2, ADMIN: 3 };
const INVALID_CREDENTIALS: Principal[] = ['none', 'expired', 'otherSecret', 'noRole', 'garbageKey'];
const ALERT_SUBSCRIPTION = `subscription { alertRaised { id title } }`;

function expected(principal: Principal, required: Required): Outcome {
  if (INVALID_CREDENTIALS.includes(principal)) return 'UNAUTHENTICATED';
  if (principal === 'customer') return 'FORBIDDEN';
  return RANK[principal]! >= REQUIRED_RANK[required] ? 'allowed' : 'FORBIDDEN';
}

const jwt = (claims: Record<string, unknown>, sub: string, exp: number) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(JWT_SECRET));

async function principals(h: Harness): Promise<Record<Principal, Auth>> {
  const now = Math.floor(Date.now() / 1000);
  return {
    none: { token: null },
    viewer: { token: h.tokens.viewer },
    viewerKey: { token: null, apiKey: API_KEY.key },
    operator: { token: h.tokens.operator },
    admin: { token: h.tokens.admin },
    customer: { token: await signToken('cus-dana', 'CUSTOMER') },
    expired: { token: await jwt({ role: 'ADMIN' }, 'alice-admin', now - 60) },
    otherSecret: { token: await signToken('alice-admin', 'ADMIN', 'another-secret-of-at-least-32-characters!') },
    noRole: { token: await jwt({}, 'alice-admin', now + 3600) },
    garbageKey: { token: null, apiKey: 'garbage-key-0000000000000000' },
  };
}

/** Subscribes and resolves with the code the server closes the socket with (negative: it did not close). */
function closeCodeOf(client: Client): Promise<number> {
  return new Promise((resolve) => {
    client.subscribe({ query: ALERT_SUBSCRIPTION }, {
      next: () => resolve(-1),
      error: (error) => resolve((error as { code?: number }).code ?? -2),
      complete: () => resolve(-3),
    });
  });
}

const raise = (h: Harness, title: string) =>
  h.app.services.alerts.raiseNow({ type: 'PAYMENT_FAILED' as any, severity: 'HIGH' as any, title, detail: 'card declined', subjectType: 'payment', subjectId: title });

describe('authentication and roles', () => {
  let h: Harness;
  let who: Record<Principal, Auth>;
  let seed: Awaited<ReturnType<typeof seedCatalog>>;
  let alertId: string;

  beforeAll(async () => {
    h = await startHarness();
    who = await principals(h);
    seed = await seedCatalog(h);
    alertId = (await raise(h, 'matrix')).alert.id;
  });
  afterAll(async () => h?.close());

  const OPERATIONS: Array<[string, Required, string, () => Record<string, unknown>]> = [
    ['query payments', 'VIEWER', `{ payments { totalCount } }`, () => ({})],
    ['query alerts', 'VIEWER', `{ alerts { totalCount } }`, () => ({})],
    ['query systemHealth', 'VIEWER', `{ systemHealth { ok } }`, () => ({})],
    ['mutation resolveAlert', 'OPERATOR', `mutation($id: ID!) { resolveAlert(id: $id) { id } }`, () => ({ id: alertId })],
    // A CUSTOMER token may pay only for itself: naming the seeded customer is FORBIDDEN too.
    ['mutation createPayment', 'OPERATOR', `mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome } }`, () => ({ i: { customerId: seed.customerId, planId: seed.planId } })],
    ['mutation createChannel', 'ADMIN', `mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, () => ({ i: { telegramChatId: `-100${randomInt(1e9)}`, title: 'Matrix' } })],
    ['mutation createPlan', 'ADMIN', `mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, () => ({ i: { bundleId: seed.bundleId, name: 'Matrix', amountMinor: 900, currency: 'usd', durationDays: 7 } })],
    ['mutation createCustomer', 'ADMIN', `mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, () => ({ i: { name: 'Matrix Buyer' } })],
    ['mutation setJobEnabled', 'ADMIN', `mutation { setJobEnabled(name: "gateway-events:retry", enabled: true) { enabled } }`, () => ({})],
  ];

  it.each(OPERATIONS)('%s (needs %s) answers each principal as the role matrix says', async (_name, required, query, variables) => {
    const actual: Record<string, Outcome> = {};
    const wanted: Record<string, Outcome> = {};
    for (const principal of Object.keys(who) as Principal[]) {
      const result = await h.gql(query, variables(), who[principal]);
      actual[principal] = result.errors ? String(result.errors[0].extensions?.code) : 'allowed';
      wanted[principal] = expected(principal, required);
    }
    expect(actual).toEqual(wanted);
  });

  it('gives an anonymous caller nothing from /graphql', async () => {
    const result = await h.gql(`{ payments { totalCount } alerts { totalCount } systemHealth { ok } }`, {}, { token: null });
    expect(result.data).toBeNull();
    expect(result.errors?.length).toBeGreaterThan(0);
    expect(result.errors?.every((e) => e.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
  });

  it('says why presented credentials were refused', async () => {
    const badKey = await h.gql(`{ payments { totalCount } }`, {}, { token: null, apiKey: 'no-such-key' });
    const badJwt = await h.gql(`{ payments { totalCount } }`, {}, { token: 'not.a.jwt' });
    expect(badKey.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['UNAUTHENTICATED', 'Invalid API key']]);
    expect(badJwt.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['UNAUTHENTICATED', 'Invalid or expired token']]);
  });

  it('keeps /healthz, /readyz and the Stripe webhook reachable without credentials', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    const webhook = await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(webhook.status).toBe(400);
  });

  it.each<[string, Principal]>([
    ['no credentials', 'none'],
    ['an expired token', 'expired'],
    ['a token signed with another secret', 'otherSecret'],
    ['a garbage API key', 'garbageKey'],
  ])('refuses a WebSocket with %s (close code 4403)', async (_name, principal) => {
    expect(await closeCodeOf(h.wsClient(who[principal]))).toBe(4403);
  });

  it('runs a subscription for a VIEWER token over WebSocket', async () => {
    const sub = collect(h.wsClient({ token: h.tokens.viewer }), ALERT_SUBSCRIPTION);
    await eventuallyReceives(h, sub);
    expect(sub.errors).toEqual([]);
  });

  it('refuses a CUSTOMER subscription to operator events with a coded FORBIDDEN', async () => {
    const sub = collect(h.wsClient({ token: who.customer.token }), ALERT_SUBSCRIPTION);
    const [error] = await eventually(async () => sub.errors.length > 0 && (sub.errors as Array<{ extensions?: { code?: string } }>));
    expect(error.extensions?.code).toBe('FORBIDDEN');
  });

  it("records the operator's identity in the audit entry of resolveAlert", async () => {
    const { alert } = await raise(h, 'audited');
    const resolved = await h.gql(`mutation($id: ID!) { resolveAlert(id: $id, note: "refunded") { resolvedBy } }`, { id: alert.id }, { token: h.tokens.operator });
    expect(must(resolved).resolveAlert.resolvedBy).toBe('operator:olga-operator');

    const entry = await h.app.services.db.fork().findOneOrFail(AuditEntry, { subjectType: 'alert', subjectId: alert.id });
    expect(entry).toMatchObject({ actor: 'operator:olga-operator', action: 'alert.resolve', note: 'refunded' });
    expect(entry.requestId).toBeTruthy();
  });

  it('lets an operator create a payment and attributes it to them', async () => {
    // A customer of its own: the matrix left open payments for the seeded customer's bundle.
    const customer = must(await h.gql(`mutation { createCustomer(input: { name: "Audit Buyer" }) { id } }`)).createCustomer;
    const payment = await createPayment(h, customer.id, seed.planId);
    const entries = await h.app.services.db.fork().find(AuditEntry, { subjectId: payment.id });
    expect(entries.map((e) => e.actor)).toContain('operator:olga-operator');
  });
});

/** Raises alerts until one reaches the subscriber: proves the subscription is live without a fixed sleep. */
async function eventuallyReceives(h: Harness, sub: ReturnType<typeof collect>): Promise<void> {
  for (let attempt = 0; sub.events.length === 0 && sub.errors.length === 0 && attempt < 50; attempt++) {
    await raise(h, `probe-${attempt}`);
    await sub.waitFor(1, 100).catch(() => undefined);
  }
  await sub.waitFor(1);
}
