import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { must } from '../support/fixtures';
import { collect, eventually, signToken, startHarness, type Harness } from '../support/harness';

/**
 * The doors an attacker or a careless client tries: a socket outliving its token, introspection
 * over WebSocket, fragment bombs, arguments that switch the complexity limit off, sockets as a way
 * around the rate limit, and frames too large to buffer.
 */

const RATE_BUDGET = 3;
const CUSTOMER_ID = '33333333-3333-4333-8333-333333333333';

/** `fragment F<n>` selects `systemHealth { ok }` 2^n times once expanded, in a document of ~40·n bytes. */
function fragmentBomb(levels: number): string {
  let doc = `query Bomb { ...F${levels} } fragment F0 on Query { systemHealth { ok } }`;
  for (let i = 1; i <= levels; i++) doc += ` fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }`;
  return doc;
}

const healthAliases = (count: number) => Array.from({ length: count }, (_, i) => `h${i}: systemHealth { telegram { ok } }`).join(' ');

/** A graphql-ws client that records how the server closed its socket. */
function trackedClient(h: Harness, token: string): { client: Client; closes: number[] } {
  const closes: number[] = [];
  const client = createClient({
    url: h.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  return { client, closes };
}

/** Runs one query or mutation over a socket; resolves with its result or the error the sink got. */
function wsRequest(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: any[]; closedWith?: number }> {
  return new Promise((resolve) => {
    let result: { data?: any; errors?: any[] } = {};
    client.subscribe({ query, variables }, {
      next: (value) => {
        result = value as typeof result;
      },
      error: (error) => {
        if (Array.isArray(error)) resolve({ errors: error });
        else resolve({ closedWith: (error as { code?: number }).code ?? -1 });
      },
      complete: () => resolve(result),
    });
  });
}

describe('GraphQL: the open doors', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { GRAPHQL_INTROSPECTION: 'false', RATE_LIMIT_CUSTOMER_MAX: String(RATE_BUDGET), RATE_LIMIT_WINDOW_SECONDS: '600' } });
  });
  afterAll(async () => h?.close());

  it('closes a socket when its token expires, and the operator can do nothing on it after', async () => {
    const token = await signToken('olga-operator', 'OPERATOR', undefined, '2s');
    const { alert } = await h.app.services.alerts.raiseNow({ type: 'PAYMENT_FAILED' as any, severity: 'HIGH' as any, title: 'expiry test', detail: 'd', subjectType: 'payment', subjectId: 'expiry-test' });
    const { client, closes } = trackedClient(h, token);
    // An open subscription keeps the lazy client's socket up until the server closes it.
    const feed = collect(client, `subscription { alertRaised { id } }`);
    const before = await wsRequest(client, `{ customers { totalCount } }`);
    expect(before.errors).toBeUndefined();
    expect(before.data.customers.totalCount).toBe(0);

    await eventually(async () => closes.length > 0, 6000);
    expect(closes[0]).toBe(4401);
    expect(feed.errors).toHaveLength(1);

    // The client reconnects with the same, now expired, token: refused at connection_init.
    const after = await wsRequest(client, `mutation($id: ID!) { resolveAlert(id: $id, note: "too late") { id } }`, { id: alert.id });
    expect(after.closedWith).toBe(4403);
    const stored = must(await h.gql(`query($id: ID!) { alert(id: $id) { resolvedAt resolvedBy } }`, { id: alert.id }));
    expect(stored.alert).toEqual({ resolvedAt: null, resolvedBy: null });
    await client.dispose();
  });

  it('refuses introspection over WebSocket when it is off, as over HTTP, and still answers __typename', async () => {
    const http = await h.gql(`{ __schema { types { name } } }`);
    expect(http.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const client = h.wsClient();
    for (const query of [`{ __schema { types { name } } }`, `{ __type(name: "Payment") { fields { name } } }`]) {
      const result = await wsRequest(client, query);
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(result.errors?.[0].message).toMatch(/introspection/i);
    }
    expect((await wsRequest(client, `{ __typename }`)).data).toEqual({ __typename: 'Query' });
  });

  it('refuses a fragment bomb from an anonymous client with a coded error, over HTTP and WebSocket', async () => {
    // 40 levels would be 2^40 selections expanded: an exponential walk would not finish in the test's time.
    const bomb = fragmentBomb(40);
    expect(bomb.length).toBeLessThan(2000);
    const http = await h.gql(bomb, {}, { token: null });
    expect(http.status).toBe(400);
    expect(http.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(http.errors?.[0].message).toMatch(/fields once fragments are expanded; the limit is 2000/);

    const ws = await wsRequest(h.wsClient(), bomb);
    expect(ws.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('refuses a document with more tokens than GRAPHQL_MAX_TOKENS before validating it', async () => {
    const result = await h.gql(`{ ${Array.from({ length: 4000 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(result.errors?.[0].message).toMatch(/Document contains more th\w+ 10000 tokens/);
  });

  it.each([
    ['a literal', `{ ${healthAliases(400)} alerts(first: -1000000) { totalCount } }`, {}],
    ['a variable', `query($n: Int!) { ${healthAliases(400)} alerts(first: $n) { totalCount } }`, { n: -1000000 }],
  ])('a negative page size in %s cannot switch the complexity limit off (HTTP and WebSocket)', async (_how, query, variables) => {
    h.telegram.reset();
    const http = await h.gql(query, variables, { token: h.tokens.viewer });
    expect(http.status).toBe(400);
    expect(http.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', max: 1000 } });
    expect(http.errors?.[0].message).toMatch(/^Operation complexity \d+ exceeds the limit of 1000$/);

    const ws = await wsRequest(h.wsClient({ token: h.tokens.viewer }), query, variables);
    expect(ws.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(h.telegram.callsTo('getMe')).toHaveLength(0);
  });

  it('asks Telegram once for systemHealth however many aliases an operation uses', async () => {
    h.telegram.reset();
    const result = must(await h.gql(`{ ${healthAliases(300)} }`, {}, { token: h.tokens.viewer }));
    expect(Object.keys(result)).toHaveLength(300);
    expect(result.h299.telegram.ok).toBe(true);
    expect(h.telegram.callsTo('getMe')).toHaveLength(1);
  });

  it('a customer over the rate limit is limited on a WebSocket too, sharing the budget with HTTP', async () => {
    const token = await signToken(CUSTOMER_ID, 'CUSTOMER', undefined, '1h');
    for (let i = 0; i < RATE_BUDGET - 1; i++) expect((await h.gql(`{ __typename }`, {}, { token })).status).toBe(200);
    const client = h.wsClient({ token });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await wsRequest(client, `{ __typename }`));
    expect(results[0].data).toEqual({ __typename: 'Query' });
    for (const limited of results.slice(1)) {
      expect(limited.data).toBeUndefined();
      expect(limited.errors?.[0]).toMatchObject({ message: 'Too many requests; please slow down', extensions: { code: 'RATE_LIMITED' } });
    }
    expect((await h.gql(`{ __typename }`, {}, { token })).status).toBe(429);
    // Staff are not limited over either transport.
    const staff = h.wsClient({ token: h.tokens.viewer });
    for (let i = 0; i < RATE_BUDGET + 2; i++) expect((await wsRequest(staff, `{ __typename }`)).data).toEqual({ __typename: 'Query' });
  });

  it('closes an unauthenticated socket that sends a frame over 1 MB as it arrives (1009), before buffering it', async () => {
    const socket = new WebSocket(h.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.on('error', () => undefined);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { junk: 'x'.repeat(2 * 1024 * 1024) } }));
    expect(await closed).toBe(1009);
  });

  it('keeps a frame under the cap working (a large but allowed subscribe)', async () => {
    const client = h.wsClient();
    const sub = collect(client, `subscription { alertRaised { title } }`, { pad: 'x'.repeat(500 * 1024) });
    await eventually(async () => {
      await h.app.services.alerts.raiseNow({ type: 'PAYMENT_FAILED' as any, severity: 'HIGH' as any, title: `big-frame-${Date.now()}`, detail: 'd', subjectType: 'payment', subjectId: `big-${Date.now()}` });
      return sub.events.length > 0;
    }, 5000, 200);
    expect(sub.errors).toEqual([]);
    sub.dispose();
  });
});
