import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { seedCatalog } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

/**
 * Hostile arguments at every root field of the committed schema, over HTTP and WebSocket, and
 * hostile request shapes at /graphql: every answer is a coded client error or data, never INTERNAL
 * and never a 5xx. Seeded and bounded, so a failure names a case that replays.
 */

// FUZZ_SEED / FUZZ_RUNS widen a run by hand (e.g. FUZZ_RUNS=200); CI keeps the fixed, bounded default.
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS_PER_FIELD = Number(process.env.FUZZ_RUNS ?? 12);
const schema: GraphQLSchema = buildSchema(readFileSync(path.join(__dirname, '../../schema/schema.graphql'), 'utf8'));
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

const deepObject = (depth: number): unknown => (depth === 0 ? 1 : { a: deepObject(depth - 1) });
const deepList = (depth: number): unknown => (depth === 0 ? [] : [deepList(depth - 1)]);

/** Values of any shape that a careless or hostile client sends in place of what the schema asks for. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53, -(2 ** 53), 1e308, -1e308, -0, 0.5, -1, 0, -1_000_000),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    'x'.repeat(20_000),
    "'; drop table payments; --",
    'NaN',
    '1e999',
    '-1',
    '2026-13-45T99:99:99Z',
    '0000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00.001Z',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'not-a-uuid',
    'pi_3Nq',
    '99999999999999999999999999',
    '{}',
    '__proto__',
  ),
  fc.boolean(),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'id', 'x', ''), fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxKeys: 3 }),
  fc.constant(deepObject(200)),
  fc.constant(deepList(200)),
);

/** Mostly values of the right shape (so they reach the resolvers), with hostile ones mixed in at every level. */
function valueFor(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  const inner = isNonNullType(type) ? type.ofType : type;
  let plausible: fc.Arbitrary<unknown>;
  if (isListType(inner)) {
    plausible = fc.array(valueFor(inner.ofType, depth + 1), { maxLength: depth > 1 ? 2 : 120 });
  } else if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields());
    plausible = depth > 3 ? fc.constant({}) : fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, depth + 1)])), { requiredKeys: [] });
  } else if (isEnumType(inner)) {
    plausible = fc.oneof(fc.constantFrom(...inner.getValues().map((v) => v.name)), fc.constantFrom('NOT_A_VALUE', 'low', ''));
  } else if (isScalarType(inner)) {
    plausible = scalarValue(inner.name);
  } else {
    plausible = hostile;
  }
  const value = fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: hostile });
  return isNonNullType(type) ? value : fc.oneof({ weight: 5, arbitrary: value }, { weight: 1, arbitrary: fc.constant(null) });
}

function scalarValue(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'Int':
      return fc.oneof(fc.integer({ min: -5, max: 150 }), fc.integer(), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31)));
    case 'Float':
      return fc.double({ noNaN: true });
    case 'Boolean':
      return fc.boolean();
    case 'ID':
      return fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constantFrom('1', '-1', 'pi_123', 'cs_test_1'));
    case 'DateTime':
      return fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom('2026-02-30T00:00:00Z', 'yesterday', '9999-12-31T23:59:59Z'));
    case 'JSON':
      return fc.jsonValue({ maxDepth: 3 });
    default:
      return fc.string({ maxLength: 40 });
  }
}

/** A value written into the document itself; shapes GraphQL cannot spell make a syntax error, which must be coded too. */
function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' && isEnumType(named) && NAME.test(value)) return value;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, isListType(type) ? type.ofType : type)).join(', ')}]`;
  const fields = isInputObjectType(named) ? named.getFields() : {};
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${NAME.test(k) ? k : '_'}: ${literal(v, fields[k]?.type ?? type)}`).join(', ')}}`;
}

type Operation = 'query' | 'mutation' | 'subscription';

interface FuzzCase {
  operation: Operation;
  field: string;
  args: Record<string, unknown>;
  asLiterals: boolean;
}

const rootFields = (operation: Operation): Array<GraphQLField<unknown, unknown>> =>
  Object.values((operation === 'query' ? schema.getQueryType() : operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType())!.getFields());

function request(c: FuzzCase): { query: string; variables: Record<string, unknown> } {
  const field = rootFields(c.operation).find((f) => f.name === c.field)!;
  const present = field.args.filter((a) => c.args[a.name] !== undefined);
  const selection = isScalarType(getNamedType(field.type)) || isEnumType(getNamedType(field.type)) ? '' : ' { __typename }';
  if (c.asLiterals) {
    const args = present.map((a) => `${a.name}: ${literal(c.args[a.name], a.type)}`).join(', ');
    return { query: `${c.operation} Fuzz { ${c.field}${args ? `(${args})` : ''}${selection} }`, variables: {} };
  }
  const defs = present.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = present.map((a) => `${a.name}: $${a.name}`).join(', ');
  return {
    query: `${c.operation} Fuzz${defs ? `(${defs})` : ''} { ${c.field}${args ? `(${args})` : ''}${selection} }`,
    variables: Object.fromEntries(present.map((a) => [a.name, c.args[a.name]])),
  };
}

const argsFor = (args: readonly GraphQLArgument[]): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(Object.fromEntries(args.map((a) => [a.name, valueFor(a.type)])), { requiredKeys: [] });

function casesFor(operation: Operation): fc.Arbitrary<FuzzCase> {
  return fc.constantFrom(...rootFields(operation)).chain((field) =>
    fc.record({ operation: fc.constant(operation), field: fc.constant(field.name), args: argsFor(field.args), asLiterals: fc.boolean() }));
}

/** What a client must never see. */
function internalProblems(status: number, body: any): string[] {
  const problems: string[] = [];
  if (status >= 500) problems.push(`HTTP ${status}`);
  if (!body || typeof body !== 'object') return [...problems, `body is not a JSON object: ${String(body).slice(0, 200)}`];
  for (const error of body.errors ?? []) {
    const code = error?.extensions?.code;
    if (!code) problems.push(`error without a code: ${error?.message}`);
    if (code === 'INTERNAL' || code === 'INTERNAL_SERVER_ERROR') problems.push(`INTERNAL: ${error?.message}`);
  }
  if (!body.errors && body.data === undefined) problems.push(`neither data nor errors: ${JSON.stringify(body).slice(0, 200)}`);
  return problems;
}

describe('GraphQL fuzz: hostile input never answers INTERNAL or 5xx', () => {
  let h: Harness;
  let ws: Client;
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_CUSTOMER_MAX: '0' } });
    await seedCatalog(h);
    ws = createClient({ url: h.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${h.tokens.admin}` }, retryAttempts: 0, lazy: false });
  });
  afterAll(async () => {
    await ws?.dispose();
    await h?.close();
  });

  const post = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.tokens.admin}`, ...headers }, body });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // reported below as a body that is not JSON
    }
    return { status: response.status, body: json };
  };

  const overWebSocket = (query: string, variables: Record<string, unknown>): Promise<any> =>
    new Promise((resolve) => {
      let last: unknown = { data: null };
      ws.subscribe({ query, variables }, {
        next: (value) => {
          last = value;
        },
        error: (error) => resolve(Array.isArray(error) ? { errors: error } : { errors: [{ message: `socket closed: ${String((error as { code?: number }).code ?? error)}`, extensions: { code: 'INTERNAL' } }] }),
        complete: () => resolve(last),
      });
      // A subscription that was accepted streams until disposed: one event's worth of patience is enough.
      setTimeout(() => resolve(last), 300);
    });

  it.each(['query', 'mutation', 'subscription'] as const)('%s root fields over HTTP', async (operation) => {
    const fieldCount = rootFields(operation).length;
    await fc.assert(
      fc.asyncProperty(casesFor(operation), async (c) => {
        const { status, body } = await post(JSON.stringify(request(c)));
        const problems = internalProblems(status, body);
        if (problems.length > 0) throw new Error(`${request(c).query} ${JSON.stringify(request(c).variables).slice(0, 300)}\n${problems.join('\n')}`);
      }),
      { seed: SEED, numRuns: fieldCount * RUNS_PER_FIELD, endOnFailure: true },
    );
  }, 120_000);

  it.each(['query', 'mutation'] as const)('%s root fields over WebSocket', async (operation) => {
    await fc.assert(
      fc.asyncProperty(casesFor(operation), async (c) => {
        const { query, variables } = request(c);
        const result = await overWebSocket(query, variables);
        const problems = internalProblems(200, result);
        if (problems.length > 0) throw new Error(`${query} ${JSON.stringify(variables).slice(0, 300)}\n${problems.join('\n')}`);
      }),
      { seed: SEED + 1, numRuns: RUNS_PER_FIELD * 12, endOnFailure: true },
    );
  }, 120_000);

  it.each([
    ['a null body', 'null'],
    ['a bare string', '"{ __typename }"'],
    ['a number', '42'],
    ['an empty object', '{}'],
    ['an empty batch', '[]'],
    ['a batch', '[{"query":"{ __typename }"}]'],
    ['a query that is a number', '{"query": 5}'],
    ['a query that is null', '{"query": null}'],
    ['variables that are a string', '{"query":"{ __typename }","variables":"x"}'],
    ['variables that are a list', '{"query":"{ __typename }","variables":[1]}'],
    ['an operationName that is an object', '{"query":"{ __typename }","operationName":{}}'],
    ['an unknown operationName', '{"query":"query A { __typename }","operationName":"B"}'],
    ['two operations and no name', '{"query":"query A { __typename } query B { __typename }"}'],
    ['a persisted query that is junk', '{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"junk"}}}'],
    ['a persisted query of another version', '{"query":"{ __typename }","extensions":{"persistedQuery":{"version":99}}}'],
    ['extensions that are a string', '{"query":"{ __typename }","extensions":"x"}'],
    ['variables nested 5,000 deep', `{"query":"query($j: JSON) { __typename }","variables":{"j":${'['.repeat(5000)}${']'.repeat(5000)}}}`],
    ['a subscription over HTTP', '{"query":"subscription { alertRaised { id } }"}'],
    ['invalid JSON', '{"query": '],
    ['a body over 1 MB', JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_100_000) } })],
  ])('POST with %s is a coded client error', async (_name, body) => {
    const { status, body: answer } = await post(body);
    expect(internalProblems(status, answer)).toEqual([]);
    expect(status).toBeLessThan(500);
  });

  it.each([
    ['a query', '?query=%7B__typename%7D'],
    ['a mutation', '?query=mutation%7BforceCleanup%7Bexpired%7D%7D'],
    ['variables that are not JSON', '?query=%7B__typename%7D&variables=%7Bnope'],
    ['no query', ''],
  ])('GET with %s is data or a coded client error', async (_name, search) => {
    const response = await fetch(`${h.url}/graphql${search}`, { headers: { authorization: `Bearer ${h.tokens.admin}`, 'apollo-require-preflight': 'true' } });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // the landing page for a bare GET from a browser is HTML; anything else must be JSON
    }
    if (search === '' && response.status === 200) return;
    expect(internalProblems(response.status, body)).toEqual([]);
  });

  // Found by this fuzz (seed 7): a catalog create without its required field, or an update that
  // cleared one, reached a NOT NULL column and answered INTERNAL.
  it.each([
    ['createBundle', `mutation { createBundle(input: { description: "d" }) { id } }`, 'A new bundle needs name'],
    ['createChannel', `mutation { createChannel(input: { title: "0", telegramChatId: null }) { id } }`, 'A new channel needs telegramChatId'],
    ['createPlan', `mutation { createPlan(input: { name: "p" }) { id } }`, 'A new plan needs bundleId, amountMinor, currency, durationDays'],
  ])('%s without a required field names it (BAD_USER_INPUT)', async (_name, query, message) => {
    const { status, body } = await post(JSON.stringify({ query }));
    expect(status).toBe(200);
    expect((body as any).errors?.[0]).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('an update cannot clear a required field (BAD_USER_INPUT), and the bundle keeps its name', async () => {
    const created = await post(JSON.stringify({ query: `mutation { createBundle(input: { name: "Keep" }) { id } }` }));
    const id = (created.body as any).data.createBundle.id;
    const cleared = await post(JSON.stringify({ query: `mutation($id: ID!) { updateBundle(id: $id, input: { name: null, active: null }) { id } }`, variables: { id } }));
    expect((cleared.body as any).errors?.[0]).toMatchObject({ message: 'name, active cannot be null', extensions: { code: 'BAD_USER_INPUT' } });
    const { body } = await post(JSON.stringify({ query: `{ bundles(first: 100) { edges { node { id name active } } } }` }));
    expect((body as any).data.bundles.edges.map((e: any) => e.node)).toContainEqual({ id, name: 'Keep', active: true });
  });

  it('the same content with a text/plain content type is refused with a code (CSRF protection)', async () => {
    const { status, body } = await post('{"query":"{ __typename }"}', { 'content-type': 'text/plain' });
    expect(status).toBe(400);
    expect(internalProblems(status, body)).toEqual([]);
  });
});
