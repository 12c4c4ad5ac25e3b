import 'reflect-metadata';
import { createClient, type Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startApp, type RecoupApp } from '../../src/app/app';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { startFakeStripe, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { startFakeCashfree, type FakeCashfree } from '../../src/sandbox/cashfree/fake-cashfree.server';
import { ManualClock, systemClock, type Clock } from '../../src/platform/shared/clock';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';
import { createLogger, type Logger } from '../../src/platform/observability/logger';
import { createTestDatabase, truncateAll, type TestDatabase } from './database';

export const JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';
export const WEBHOOK_SECRET = 'whsec_test_recoup_integration';
export const BOT_TOKEN = '123456:test-bot-token';
export const API_KEY = { name: 'ci-dashboard', role: 'VIEWER', key: 'viewer-key-0123456789abcdef' };

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, any>; path?: string[] }>;
}

export interface Auth {
  token?: string | null;
  apiKey?: string;
}

export interface Harness {
  app: RecoupApp;
  url: string;
  wsUrl: string;
  stripe: FakeStripe;
  /** Only with `cashfree: true` (the SDK is slow to load: other tests do without). */
  cashfree: FakeCashfree | null;
  telegram: FakeTelegram;
  clock: Clock;
  database: TestDatabase;
  tokens: { admin: string; operator: string; viewer: string };
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, auth?: Auth): Promise<GqlResult<T>>;
  wsClient(auth?: Auth): Client;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  clock?: Clock | 'manual';
  env?: Record<string, string>;
  /** Share a database with another harness (two instances on one database). */
  database?: TestDatabase;
  stripe?: FakeStripe;
  telegram?: FakeTelegram;
  startJobs?: boolean;
  /** Also run a fake Cashfree and configure Recoup for it (CASHFREE_* pointed at it). */
  cashfree?: boolean;
  /** The app's logger (default: one at TEST_LOG_LEVEL, silent unless set), e.g. to read what it logs. */
  logger?: Logger;
}

export async function signToken(sub: string, role: string, secret = JWT_SECRET, expiresIn = '1h'): Promise<string> {
  return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock === 'manual' ? new ManualClock() : (options.clock ?? systemClock);
  const database = options.database ?? (await createTestDatabase());
  const ownsStripe = !options.stripe;
  const stripe = options.stripe ?? (await startFakeStripe({ webhookSecret: WEBHOOK_SECRET, clock }));
  const ownsTelegram = !options.telegram;
  const telegram = options.telegram ?? (await startFakeTelegram({ botToken: BOT_TOKEN }));
  const cashfree = options.cashfree ? await startFakeCashfree({ clock }) : null;
  const cashfreeEnv: Record<string, string> = cashfree
    ? { CASHFREE_APP_ID: cashfree.appId, CASHFREE_SECRET_KEY: cashfree.secretKey, CASHFREE_ENV: 'sandbox', CASHFREE_API_URL: cashfree.apiUrl, CASHFREE_CHECKOUT_URL: cashfree.checkoutUrl, CASHFREE_TIMEOUT_MS: '2000' }
    : {};
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: database.url,
    STRIPE_SECRET_KEY: 'sk_test_recoup',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: stripe.url,
    STRIPE_MAX_NETWORK_RETRIES: '0',
    STRIPE_TIMEOUT_MS: '2000',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_URL: telegram.url,
    TELEGRAM_TIMEOUT_MS: '2000',
    DELIVERY_BACKOFF_BASE_MS: '50',
    DELIVERY_BACKOFF_CAP_MS: '400',
    AUTH_JWT_SECRET: JWT_SECRET,
    API_KEYS: `${API_KEY.name}:${API_KEY.role}:${API_KEY.key}`,
    JOBS_PROCESS_EVERY: '1 second',
    ...cashfreeEnv,
    ...options.env,
  });
  const app = await startApp({ config, databaseUrl: database.url, clock, logger: options.logger ?? createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat)), startJobs: options.startJobs ?? false });
  // Recoup answers a webhook once it is stored and applies it right after: a test's delivery waits for that.
  stripe.setWebhookUrl(`${app.url}/webhooks/stripe`, { settled: () => app.services.intake.whenIdle() });
  telegram.webhookSettled = () => app.services.intake.whenIdle();
  cashfree?.setWebhookUrl(`${app.url}/webhooks/cashfree`, { settled: () => app.services.intake.whenIdle() });
  const tokens = {
    admin: await signToken('alice-admin', 'ADMIN'),
    operator: await signToken('olga-operator', 'OPERATOR'),
    viewer: await signToken('victor-viewer', 'VIEWER'),
  };
  const clients: Client[] = [];
  const headersFor = (auth: Auth | undefined): Record<string, string> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = auth && 'token' in auth ? auth.token : tokens.admin;
    if (token) headers.authorization = `Bearer ${token}`;
    if (auth?.apiKey) headers['x-api-key'] = auth.apiKey;
    return headers;
  };
  return {
    app,
    url: app.url,
    wsUrl: app.url.replace('http', 'ws') + '/graphql',
    stripe,
    cashfree,
    telegram,
    clock,
    database,
    tokens,
    async gql(query, variables, auth) {
      const response = await fetch(`${app.url}/graphql`, { method: 'POST', headers: headersFor(auth), body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data?: any; errors?: GqlResult['errors'] };
      return { status: response.status, data: body.data ?? null, errors: body.errors };
    },
    wsClient(auth) {
      const token = auth && 'token' in auth ? auth.token : tokens.admin;
      const client = createClient({
        url: app.url.replace('http', 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        connectionParams: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(auth?.apiKey ? { apiKey: auth.apiKey } : {}) },
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async reset() {
      await app.services.intake.whenIdle();
      await app.services.dispatcher.whenIdle();
      // Removals queued when a test's refund ended access are still being made after its commit.
      await app.services.telegramOutbox.whenIdle();
      await truncateAll(database.url);
      stripe.reset();
      cashfree?.reset();
      telegram.reset();
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      if (ownsStripe) await stripe.close();
      if (ownsTelegram) await telegram.close();
      await cashfree?.close();
      if (!options.database) await database.drop();
    },
  };
}

/** Collects the events of one subscription; `next()` waits (bounded) for the next one. */
export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const events: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | null = null;
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        else events.push(value.data as T);
        wake?.();
      },
      error: (error) => {
        errors.push(error);
        wake?.();
      },
      complete: () => {
        completed = true;
        wake?.();
      },
    },
  );
  return {
    events,
    errors,
    get completed() {
      return completed;
    },
    dispose,
    async waitFor(count: number, timeoutMs = 5000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count && errors.length === 0 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(100, deadline - Date.now()));
        });
      }
      if (errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      if (events.length < count) throw new Error(`expected ${count} events, got ${events.length}`);
      return events;
    },
  };
}

/** Polls until `check` returns a truthy value (bounded); no fixed sleeps in tests. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}
