import { startHarness, signToken, type Harness } from '../support/harness';

let h: Harness;
const BURST = 3;

const postWebhook = (path: string) => fetch(`${h.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
const query = (token: string | null) => h.gql(`{ __typename }`, {}, { token });

beforeAll(async () => {
  h = await startHarness({ env: { TELEGRAM_WEBHOOK_SECRET: 'rate-limit-secret', RATE_LIMIT_WEBHOOK_MAX: String(BURST), RATE_LIMIT_CUSTOMER_MAX: String(BURST) } });
});
afterAll(async () => h?.close());

describe('rate limits on the public routes', () => {
  it('webhooks: 429 with Retry-After once a source IP spends its burst, across webhook routes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < BURST - 1; i++) statuses.push((await postWebhook('/webhooks/telegram')).status);
    statuses.push((await postWebhook('/webhooks/stripe')).status);
    expect(statuses).toEqual([401, 401, 400]);

    const limited = await postWebhook('/webhooks/telegram');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit-policy')).toContain(`q=${BURST}`);
    expect(await limited.json()).toEqual({ error: 'Too many requests; please retry later' });
    expect((await postWebhook('/webhooks/stripe')).status).toBe(429);
  });

  it('GraphQL: each customer token has its own budget; staff credentials are not limited here', async () => {
    const dana = await signToken('11111111-1111-4111-8111-111111111111', 'CUSTOMER');
    const eli = await signToken('22222222-2222-4222-8222-222222222222', 'CUSTOMER');
    for (let i = 0; i < BURST; i++) expect((await query(dana)).status).toBe(200);

    const limited = await query(dana);
    expect(limited.status).toBe(429);
    expect(limited.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    // A second token for the same customer shares the budget: the customer is the unit, not the string.
    expect((await query(await signToken('11111111-1111-4111-8111-111111111111', 'CUSTOMER', undefined, '2h'))).status).toBe(429);
    expect((await query(eli)).status).toBe(200);
    for (let i = 0; i < BURST + 2; i++) expect((await query(h.tokens.operator)).status).toBe(200);
  });

  it('GraphQL without valid credentials counts against the source IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i++) statuses.push((await query('not-a-jwt')).status);
    expect(statuses).not.toContain(429);
    expect((await query(null)).status).toBe(429);
  });
});
