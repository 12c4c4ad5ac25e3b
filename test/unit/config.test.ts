/**
 * loadConfig's validation rules, one by one, with the message the operator sees. ConfigError lists
 * every problem at once; each test asserts its own problem is in that list.
 */
import { ConfigError, loadConfig } from '../../src/platform/config';
import type { Env } from '../../src/platform/config/reader';
import { PRODUCTION_ENV } from '../support/config-env';

const PRODUCTION: Env = PRODUCTION_ENV;

function problems(env: Env): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

/** The one problem `env` (on top of a valid development or production environment) causes. */
function problem(env: Env, base: Env = {}): string {
  const found = problems({ ...base, ...env });
  expect(found).toHaveLength(1);
  return found[0] as string;
}

describe('loadConfig', () => {
  describe('valid environments', () => {
    it('loads an empty environment as development in sandbox mode with an embedded database', () => {
      const config = loadConfig({});
      expect(config).toMatchObject({ env: 'development', sandbox: true, databaseUrl: undefined, port: 4000 });
      expect(config.graphql.introspection).toBe(true);
    });

    it('loads a complete production environment, with introspection off', () => {
      const config = loadConfig(PRODUCTION);
      expect(config).toMatchObject({ env: 'production', sandbox: false, databaseUrl: PRODUCTION.DATABASE_URL });
      expect(config.graphql.introspection).toBe(false);
    });
  });

  describe('reader.ts: single variables', () => {
    it('an integer out of range', () => {
      expect(problem({ PORT: '70000' })).toBe('PORT must be an integer from 0 to 65535 (got "70000")');
    });

    it('an integer that is not one', () => {
      expect(problem({ DATABASE_POOL_MAX: '2.5' })).toBe('DATABASE_POOL_MAX must be an integer from 2 to 200 (got "2.5")');
    });

    it('a value not in the allowed list', () => {
      expect(problem({ NODE_ENV: 'staging' })).toBe('NODE_ENV must be one of development, production, test (got "staging")');
      expect(problem({ LOG_LEVEL: 'loud' })).toBe('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")');
    });

    it('a URL that does not parse, or has the wrong protocol', () => {
      expect(problem({ PUBLIC_URL: 'not a url' })).toBe('PUBLIC_URL must be a http: or https: URL');
      expect(problem({ DATABASE_URL: 'mysql://db/recoup' })).toBe('DATABASE_URL must be a postgres: or postgresql: URL');
      expect(problem({ AGENDA_MONGO_URL: 'postgres://db' })).toBe('AGENDA_MONGO_URL must be a mongodb: or mongodb+srv: URL');
    });

    it('a boolean that is not one', () => {
      expect(problem({ GRAPHQL_INTROSPECTION: 'maybe' })).toBe('GRAPHQL_INTROSPECTION must be true or false (got "maybe")');
    });

    it('blank values count as unset, and URLs lose a trailing slash', () => {
      const config = loadConfig({ PORT: '  ', PUBLIC_URL: 'https://recoup.example.com/' });
      expect(config.port).toBe(4000);
      expect(config.publicUrl).toBe('https://recoup.example.com');
    });

    it('an unknown time zone', () => {
      expect(problem({ SCHEDULE_TIMEZONE: 'Mars/Olympus' })).toBe('SCHEDULE_TIMEZONE "Mars/Olympus" is not a known IANA time zone');
    });

    it('TRUST_PROXY: a hop count is a number, anything else is passed to express as is', () => {
      expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
      expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8' }).trustProxy).toBe('10.0.0.0/8');
    });
  });

  describe('http-auth.ts', () => {
    it('production needs some way to authenticate', () => {
      expect(problem({ API_KEYS: undefined }, PRODUCTION)).toBe('AUTH_JWT_SECRET, AUTH_JWKS_URL or API_KEYS is required in production');
      expect(problems({ ...PRODUCTION, API_KEYS: undefined, AUTH_JWKS_URL: 'https://issuer.example.com/jwks.json' })).toEqual([]);
    });

    it('a JWT secret shorter than 32 characters', () => {
      expect(problem({ AUTH_JWT_SECRET: 'short' })).toBe('AUTH_JWT_SECRET must be at least 32 characters');
    });

    it('an API_KEYS entry that is not name:ROLE:key', () => {
      expect(problem({ API_KEYS: 'ops:ROOT:0123456789abcdef0123' })).toBe('API_KEYS entry 1 must be name:ROLE:key with ROLE one of ADMIN, OPERATOR, VIEWER');
    });

    it('an API key shorter than 16 characters', () => {
      expect(problem({ API_KEYS: 'a:VIEWER:0123456789abcdef,b:OPERATOR:short' })).toBe('API_KEYS entry "b" must have a key of at least 16 characters');
    });

    it('GraphQL and rate limits are bounded', () => {
      expect(problem({ GRAPHQL_MAX_DEPTH: '1' })).toBe('GRAPHQL_MAX_DEPTH must be an integer from 2 to 50 (got "1")');
      expect(problem({ RATE_LIMIT_WINDOW_SECONDS: '0' })).toBe('RATE_LIMIT_WINDOW_SECONDS must be an integer from 1 to 3600 (got "0")');
    });
  });

  describe('delivery.ts', () => {
    it('DELIVERY_SWEEP_EVERY is at most 30 seconds, so a lost immediate attempt is retried within 30 s of its grace', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).delivery.sweepEvery).toBe('30 seconds');
      expect(loadConfig({ NODE_ENV: 'test', DELIVERY_SWEEP_EVERY: '10s' }).delivery.sweepEvery).toBe('10s');
      expect(problem({ DELIVERY_SWEEP_EVERY: '5 minutes' })).toBe('DELIVERY_SWEEP_EVERY must be an interval from 1 second to 30 seconds, like "30 seconds" (got "5 minutes")');
      expect(problem({ DELIVERY_SWEEP_EVERY: 'often' })).toContain('DELIVERY_SWEEP_EVERY must be an interval');
      expect(problem({ DELIVERY_SWEEP_EVERY: '500 ms' })).toContain('DELIVERY_SWEEP_EVERY must be an interval');
    });
  });

  describe('payments.ts', () => {
    it('DEFAULT_GATEWAY names the gateway of plans created without one; CASHFREE needs its keys unless sandbox mode runs the fake', () => {
      expect(loadConfig({}).payments.defaultGateway).toBe('STRIPE');
      expect(loadConfig({ DEFAULT_GATEWAY: 'CASHFREE' }).payments.defaultGateway).toBe('CASHFREE');
      expect(problem({ DEFAULT_GATEWAY: 'CASHFREE' }, PRODUCTION)).toBe('DEFAULT_GATEWAY=CASHFREE needs CASHFREE_APP_ID and CASHFREE_SECRET_KEY');
      expect(loadConfig({ ...PRODUCTION, DEFAULT_GATEWAY: 'CASHFREE', CASHFREE_APP_ID: 'app', CASHFREE_SECRET_KEY: 'cfsk_ma_prod_x' }).payments.defaultGateway).toBe('CASHFREE');
      expect(problem({ DEFAULT_GATEWAY: 'PAYPAL' })).toBe('DEFAULT_GATEWAY must be one of STRIPE, CASHFREE (got "PAYPAL")');
    });

    it('production needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET', () => {
      expect(problems({ ...PRODUCTION, STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined })).toEqual(['STRIPE_SECRET_KEY is required', 'STRIPE_WEBHOOK_SECRET is required']);
    });

    it('outside production a Stripe key without its webhook secret is a problem (no sandbox to fall back on)', () => {
      expect(problem({ STRIPE_SECRET_KEY: 'sk_test_0123456789' })).toBe('STRIPE_WEBHOOK_SECRET is required');
      expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_0123456789', STRIPE_WEBHOOK_SECRET: 'whsec_x' }).sandbox).toBe(false);
    });

    it('STRIPE_WEBHOOK_SECRET is a comma-separated list of secrets (for a rotation)', () => {
      const env = { STRIPE_SECRET_KEY: 'sk_test_0123456789' };
      expect(loadConfig({ ...env, STRIPE_WEBHOOK_SECRET: 'whsec_new, whsec_old' }).stripe.webhookSecrets).toEqual(['whsec_new', 'whsec_old']);
      expect(loadConfig({ ...env, STRIPE_WEBHOOK_SECRET: 'whsec_only' }).stripe.webhookSecrets).toEqual(['whsec_only']);
      expect(problem({ ...env, STRIPE_WEBHOOK_SECRET: ' , ' })).toBe('STRIPE_WEBHOOK_SECRET holds no secret');
      expect(problem({ ...env, STRIPE_WEBHOOK_SECRET: 'whsec_a,whsec_a' })).toBe('STRIPE_WEBHOOK_SECRET lists the same secret twice');
    });

    it('production refuses test-mode keys (sk_test_, rk_test_)', () => {
      expect(problem({ STRIPE_SECRET_KEY: 'sk_test_0123456789' }, PRODUCTION)).toBe(
        'STRIPE_SECRET_KEY is a test-mode key (sk_test_…) and NODE_ENV is production; use a live key, or set STRIPE_ALLOW_TEST_KEYS=true',
      );
      expect(problem({ STRIPE_SECRET_KEY: 'rk_test_0123456789' }, PRODUCTION)).toBe(
        'STRIPE_SECRET_KEY is a test-mode key (rk_test_…) and NODE_ENV is production; use a live key, or set STRIPE_ALLOW_TEST_KEYS=true',
      );
    });

    it('STRIPE_ALLOW_TEST_KEYS=true lets a test key through in production; live and restricted live keys always pass', () => {
      expect(loadConfig({ ...PRODUCTION, STRIPE_SECRET_KEY: 'sk_test_0123456789', STRIPE_ALLOW_TEST_KEYS: 'true' }).stripe.secretKey).toBe('sk_test_0123456789');
      expect(problems({ ...PRODUCTION, STRIPE_SECRET_KEY: 'rk_live_0123456789' })).toEqual([]);
      expect(problem({ STRIPE_ALLOW_TEST_KEYS: 'sometimes' })).toBe('STRIPE_ALLOW_TEST_KEYS must be true or false (got "sometimes")');
    });

    it('test keys are fine outside production', () => {
      expect(problems({ NODE_ENV: 'test', STRIPE_SECRET_KEY: 'sk_test_0123456789', STRIPE_WEBHOOK_SECRET: 'whsec_x' })).toEqual([]);
    });

    it('checkout expiry within what Stripe allows (30 to 1440 minutes)', () => {
      expect(problem({ CHECKOUT_EXPIRY_MINUTES: '10' })).toBe('CHECKOUT_EXPIRY_MINUTES must be an integer from 30 to 1440 (got "10")');
    });

    it('a late payment policy and capture trigger from their lists', () => {
      expect(problem({ LATE_PAYMENT_POLICY: 'keep' })).toBe('LATE_PAYMENT_POLICY must be one of honour, refund (got "keep")');
      expect(problem({ CAPTURE_ON: 'paid' })).toBe('CAPTURE_ON must be one of delivered, joined (got "paid")');
    });
  });

  describe('database (index.ts, database.ts)', () => {
    it('production needs DATABASE_URL: no embedded PostgreSQL there', () => {
      expect(problem({ DATABASE_URL: undefined }, PRODUCTION)).toBe('DATABASE_URL is required in production (the embedded PostgreSQL is for development and tests only)');
    });

    it('outside production an unset DATABASE_URL means the embedded PostgreSQL', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).databaseUrl).toBeUndefined();
    });
  });

  describe('delivery.ts', () => {
    it('the delivery lease must exceed two Telegram timeouts', () => {
      expect(problem({ DELIVERY_LEASE_MS: '20000' })).toBe('DELIVERY_LEASE_MS must exceed 2 × TELEGRAM_TIMEOUT_MS = 20000');
      expect(problem({ TELEGRAM_TIMEOUT_MS: '20000' })).toBe('DELIVERY_LEASE_MS must exceed 2 × TELEGRAM_TIMEOUT_MS = 40000');
    });

    it('SMTP_URL must be smtp: or smtps:', () => {
      expect(problem({ SMTP_URL: 'https://mail.example.com' })).toBe('SMTP_URL must be a smtp: or smtps: URL');
    });

    it('invite links live at most 24 hours', () => {
      expect(problem({ INVITE_LINK_TTL_HOURS: '48' })).toBe('INVITE_LINK_TTL_HOURS must be an integer from 1 to 24 (got "48")');
    });
  });

  describe('retries.ts', () => {
    it('the retry lease must outlast one charge with the SDK retries', () => {
      expect(problem({ RETRY_LEASE_MS: '60000' })).toBe('RETRY_LEASE_MS must exceed STRIPE_TIMEOUT_MS × (STRIPE_MAX_NETWORK_RETRIES + 1) = 60000');
      expect(problem({ STRIPE_MAX_NETWORK_RETRIES: '10' })).toBe('RETRY_LEASE_MS must exceed STRIPE_TIMEOUT_MS × (STRIPE_MAX_NETWORK_RETRIES + 1) = 220000');
    });

    it('jitter is at most 50 %', () => {
      expect(problem({ RETRY_JITTER_PERCENT: '80' })).toBe('RETRY_JITTER_PERCENT must be an integer from 0 to 50 (got "80")');
    });
  });

  describe('queues.ts', () => {
    it('one jitter for every lease queue: 20 % by default, at most 50 %', () => {
      expect(loadConfig({}).queues).toEqual({
        jitter: 0.2,
        inbox: { backoffBaseMs: 5_000, backoffCapMs: 300_000 },
        telegramOutbox: { backoffBaseMs: 2_000, backoffCapMs: 600_000 },
      });
      expect(loadConfig({ QUEUE_JITTER_PERCENT: '0' }).queues.jitter).toBe(0);
      expect(problem({ QUEUE_JITTER_PERCENT: '60' })).toBe('QUEUE_JITTER_PERCENT must be an integer from 0 to 50 (got "60")');
    });

    it('a queue whose backoff base exceeds its cap', () => {
      expect(problem({ CAPTURE_BACKOFF_CAP_MS: '30000' })).toBe('CAPTURE_BACKOFF_BASE_MS must not exceed CAPTURE_BACKOFF_CAP_MS (30000)');
      expect(problem({ ALERT_WEBHOOK_BACKOFF_CAP_MS: '1000' })).toBe('ALERT_WEBHOOK_BACKOFF_BASE_MS must not exceed ALERT_WEBHOOK_BACKOFF_CAP_MS (1000)');
      expect(problem({ DELIVERY_BACKOFF_BASE_MS: '600000' })).toBe('DELIVERY_BACKOFF_BASE_MS must not exceed DELIVERY_BACKOFF_CAP_MS (300000)');
      expect(problem({ INBOX_BACKOFF_CAP_MS: '4000' })).toBe('INBOX_BACKOFF_BASE_MS must not exceed INBOX_BACKOFF_CAP_MS (4000)');
      expect(problem({ TELEGRAM_OUTBOX_BACKOFF_BASE_MS: '900000' })).toBe('TELEGRAM_OUTBOX_BACKOFF_BASE_MS must not exceed TELEGRAM_OUTBOX_BACKOFF_CAP_MS (600000)');
    });
  });

  describe('telegram.ts', () => {
    it('production needs TELEGRAM_BOT_TOKEN', () => {
      expect(problem({ TELEGRAM_BOT_TOKEN: undefined }, PRODUCTION)).toBe('TELEGRAM_BOT_TOKEN is required');
    });

    it('production in webhook mode needs TELEGRAM_WEBHOOK_SECRET; polling and off do not', () => {
      expect(problem({ TELEGRAM_WEBHOOK_SECRET: undefined }, PRODUCTION)).toBe('TELEGRAM_WEBHOOK_SECRET is required');
      expect(problems({ ...PRODUCTION, TELEGRAM_WEBHOOK_SECRET: undefined, TELEGRAM_UPDATES_MODE: 'polling' })).toEqual([]);
      expect(problems({ ...PRODUCTION, TELEGRAM_WEBHOOK_SECRET: undefined, TELEGRAM_UPDATES_MODE: 'off' })).toEqual([]);
    });

    it('the webhook secret is what Telegram accepts as secret_token', () => {
      expect(problem({ TELEGRAM_WEBHOOK_SECRET: 'not allowed!' })).toBe('TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -');
    });

    it('a webhook URL needs the secret', () => {
      expect(problem({ TELEGRAM_WEBHOOK_URL: 'https://recoup.example.com/webhooks/telegram' })).toBe('TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET');
    });

    it('a bot username is a Telegram username (a leading @ is dropped)', () => {
      expect(problem({ TELEGRAM_BOT_USERNAME: 'bot' })).toBe('TELEGRAM_BOT_USERNAME must be a Telegram username (5-32 of A-Z, a-z, 0-9, _)');
      expect(loadConfig({ TELEGRAM_BOT_USERNAME: '@recoup_bot' }).telegram.botUsername).toBe('recoup_bot');
    });

    it('an updates mode from its list', () => {
      expect(problem({ TELEGRAM_UPDATES_MODE: 'push' })).toBe('TELEGRAM_UPDATES_MODE must be one of webhook, polling, off (got "push")');
    });
  });

  describe('monitoring.ts', () => {
    it('authorizations are released before they expire', () => {
      expect(problem({ NO_SHOW_RELEASE_AFTER_HOURS: '168' })).toBe(
        'NO_SHOW_RELEASE_AFTER_HOURS must be shorter than AUTHORIZATION_VALIDITY_DAYS, or authorizations expire before they are released',
      );
    });

    it('the alert webhook URL is http(s)', () => {
      expect(problem({ ALERT_WEBHOOK_URL: 'ftp://hooks.example.com' })).toBe('ALERT_WEBHOOK_URL must be a http: or https: URL');
    });

    it('reconciliation stays under Stripe\'s rate limit', () => {
      expect(problem({ RECONCILIATION_MAX_RPS: '101' })).toBe('RECONCILIATION_MAX_RPS must be an integer from 1 to 100 (got "101")');
    });
  });

  describe('every problem at once', () => {
    it('lists all problems of a bad production environment in one ConfigError, cross-section checks last', () => {
      const env: Env = { NODE_ENV: 'production', STRIPE_SECRET_KEY: 'sk_test_0123456789', PORT: 'x', RETRY_LEASE_MS: '1000' };
      expect(problems(env)).toEqual([
        'PORT must be an integer from 0 to 65535 (got "x")',
        'AUTH_JWT_SECRET, AUTH_JWKS_URL or API_KEYS is required in production',
        'DATABASE_URL is required in production (the embedded PostgreSQL is for development and tests only)',
        'STRIPE_SECRET_KEY is a test-mode key (sk_test_…) and NODE_ENV is production; use a live key, or set STRIPE_ALLOW_TEST_KEYS=true',
        'STRIPE_WEBHOOK_SECRET is required',
        'TELEGRAM_BOT_TOKEN is required',
        'TELEGRAM_WEBHOOK_SECRET is required',
        'RETRY_LEASE_MS must exceed STRIPE_TIMEOUT_MS × (STRIPE_MAX_NETWORK_RETRIES + 1) = 60000',
      ]);
      expect(() => loadConfig(env)).toThrow(/^Invalid configuration:\n {2}- PORT must be an integer/);
    });
  });

  describe('verification (KYC and e-sign)', () => {
    it('uses the sandbox provider with its built-in secret outside production, and no provider in production', () => {
      expect(loadConfig({}).verification).toEqual({ provider: 'sandbox', apiUrl: undefined, webhookSecret: 'recoup-sandbox-verification-secret', timeoutMs: 5000 });
      expect(loadConfig(PRODUCTION).verification.provider).toBe('off');
    });

    it('refuses the sandbox provider in production: it verifies no one', () => {
      expect(problem({ VERIFICATION_PROVIDER: 'sandbox', VERIFICATION_WEBHOOK_SECRET: 'a-long-enough-secret-123' }, PRODUCTION)).toBe('VERIFICATION_PROVIDER=sandbox is the built-in fake provider and verifies no one: not in production');
    });

    it('refuses a short webhook secret, an unknown provider and a bad URL', () => {
      expect(problem({ VERIFICATION_WEBHOOK_SECRET: 'short' })).toBe('VERIFICATION_WEBHOOK_SECRET must be at least 16 characters');
      expect(problem({ VERIFICATION_PROVIDER: 'acme' })).toBe('VERIFICATION_PROVIDER must be one of sandbox, off (got "acme")');
      expect(problem({ VERIFICATION_API_URL: 'ftp://x' })).toBe('VERIFICATION_API_URL must be a http: or https: URL');
    });
  });
});
