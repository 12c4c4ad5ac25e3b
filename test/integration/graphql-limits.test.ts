import { must } from '../support/fixtures';
import { collect, startHarness, type GqlResult, type Harness } from '../support/harness';

type Sub = ReturnType<typeof collect<any>>;

const MAX_DEPTH = 4;
const MAX_COMPLEXITY = 50;
// payments > edges > node > plan > bundle > name: 6 levels.
const TOO_DEEP = `{ payments { edges { node { plan { bundle { name } } } } } }`;
const TOO_COMPLEX = `{ payments(first: 100) { edges { node { id status amountMinor } } } }`;
const DEEP_SUBSCRIPTION = `subscription { paymentStatusChanged { payment { plan { bundle { name } } } } }`;
const COMPLEX_SUBSCRIPTION = `subscription { paymentStatusChanged { ${Array.from({ length: 60 }, (_, i) => `f${i}: paymentId`).join(' ')} } }`;

const errorsOf = async (sub: Sub): Promise<Array<{ message: string; extensions?: Record<string, unknown> }>> => {
  await sub.waitFor(1, 3000).catch(() => undefined);
  // graphql-ws hands an operation's errors to the sink as one array.
  return sub.errors.flat() as never;
};

/** No stack, no SQL, no file paths anywhere in what a client gets. */
function expectNoInternals(body: unknown): void {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/stacktrace|\bat .+:\d+:\d+|node_modules|\/work\/|select |insert into/i);
}

describe('GraphQL depth and complexity limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { GRAPHQL_MAX_DEPTH: String(MAX_DEPTH), GRAPHQL_MAX_COMPLEXITY: String(MAX_COMPLEXITY) } });
  });
  afterAll(async () => h?.close());

  it('answers operations within the limits', async () => {
    expect(must(await h.gql(`{ payments(first: 10) { totalCount edges { node { id } } } }`)).payments.totalCount).toBe(0);
  });

  it('rejects a query deeper than GRAPHQL_MAX_DEPTH with a clear message, BAD_USER_INPUT and HTTP 400', async () => {
    const result = await h.gql(TOO_DEEP);
    expect(result.status).toBe(400);
    expect(result.data).toBeNull();
    expect(result.errors?.[0]).toMatchObject({ message: `Operation depth 6 exceeds the limit of ${MAX_DEPTH}`, extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('counts depth through fragments', async () => {
    const result = await h.gql(`{ payments { ...P } } fragment P on PaymentConnection { edges { node { plan { bundle { name } } } } }`);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/exceeds the limit of 4/);
  });

  it('rejects an over-complex query with BAD_USER_INPUT and HTTP 400', async () => {
    const result = await h.gql(TOO_COMPLEX);
    expect(result.status).toBe(400);
    expect(result.data).toBeNull();
    expect(result.errors?.[0].message).toMatch(new RegExp(`^Operation complexity \\d+ exceeds the limit of ${MAX_COMPLEXITY}$`));
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', max: MAX_COMPLEXITY });
  });

  it('applies the depth limit to subscriptions over WebSocket', async () => {
    const [error] = await errorsOf(collect(h.wsClient(), DEEP_SUBSCRIPTION));
    expect(error).toMatchObject({ message: `Operation depth 5 exceeds the limit of ${MAX_DEPTH}`, extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('applies the complexity limit to subscriptions over WebSocket', async () => {
    const [error] = await errorsOf(collect(h.wsClient(), COMPLEX_SUBSCRIPTION));
    expect(error?.message).toMatch(new RegExp(`exceeds the limit of ${MAX_COMPLEXITY}$`));
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('answers a malformed or invalid subscription with a coded error and keeps the socket for the next one', async () => {
    const client = h.wsClient();
    const [error] = await errorsOf(collect(client, `subscription { alertRaised { id `));
    expect(error?.message).toMatch(/^Syntax Error/);
    expect(error?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');

    const [unknownField] = await errorsOf(collect(client, `subscription { alertRaised { nope } }`));
    expect(unknownField?.message).toMatch(/^Cannot query field "nope" on type "Alert"/);
    expect(unknownField?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const sub = collect(client, `subscription { alertRaised { title } }`);
    for (let i = 0; i < 50 && sub.events.length === 0 && sub.errors.length === 0; i++) {
      await h.app.services.alerts.raiseNow({ type: 'JOB_FAILED' as any, severity: 'LOW' as any, title: `after-${i}`, detail: 'x', subjectType: 'job', subjectId: `after-${i}` });
      await sub.waitFor(1, 100).catch(() => undefined);
    }
    expect((await sub.waitFor(1))[0].alertRaised.title).toMatch(/^after-/);
  });
});

describe('errors never leak internals', () => {
  let h: Harness;
  const nodeEnv = process.env.NODE_ENV;
  beforeAll(async () => {
    // Apollo adds stack traces to error responses unless NODE_ENV is production or test; a
    // development deployment is where that would leak.
    process.env.NODE_ENV = 'development';
    try {
      h = await startHarness();
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
  });
  afterAll(async () => h?.close());

  it.each<[string, string, string]>([
    ['a syntax error', `{ payments { totalCount `, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', `{ payments { nope } }`, 'GRAPHQL_VALIDATION_FAILED'],
    ['a bad argument', `{ alerts(first: 0) { totalCount } }`, 'BAD_USER_INPUT'],
    ['an unauthenticated call', `{ alerts { totalCount } }`, 'UNAUTHENTICATED'],
  ])('answers %s with a code and no stack trace', async (_name, query, code) => {
    const result: GqlResult = await h.gql(query, {}, code === 'UNAUTHENTICATED' ? { token: null } : undefined);
    expect(result.errors?.[0].extensions?.code).toBe(code);
    expectNoInternals(result);
  });

  it('refuses a NUL character (valid GraphQL, but PostgreSQL cannot store it) as BAD_USER_INPUT, naming the argument', async () => {
    const result = await h.gql(`query($s: String) { customers(search: $s) { totalCount } }`, { s: 'a\u0000b' });
    expect(result.errors?.[0]).toMatchObject({ message: 'search must not contain NUL characters (U+0000)', extensions: { code: 'BAD_USER_INPUT' } });
    const nested = await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: 'x\u0000' } });
    expect(nested.errors?.[0]).toMatchObject({ message: 'input.name must not contain NUL characters (U+0000)', extensions: { code: 'BAD_USER_INPUT' } });
  });

  describe('an unexpected database error', () => {
    // A table gone from under the running server: an error no resolver expects.
    const UNEXPECTED = `{ customers { totalCount } }`;
    beforeEach(async () => {
      await h.app.services.db.fork().execute('alter table customers rename to customers_away');
    });
    afterEach(async () => {
      await h.app.services.db.fork().execute('alter table customers_away rename to customers');
    });

    it('answers it as "Internal error" without the SQL or a stack', async () => {
      const result = await h.gql(UNEXPECTED);
      expect(result.errors?.[0]).toMatchObject({ message: 'Internal error', extensions: { code: 'INTERNAL' } });
      expectNoInternals(result);
    });

    it('masks it over WebSocket too, where Apollo does not format errors', async () => {
      const errors = await errorsOf(collect(h.wsClient(), UNEXPECTED));
      expect(errors[0]).toMatchObject({ message: 'Internal error', extensions: { code: 'INTERNAL' } });
      expectNoInternals(errors);
    });
  });
});
