/**
 * The one place that reads the environment. Everything else receives a `Config`.
 * `loadConfig` validates every variable and throws one error listing every problem.
 */
export type Role = 'ADMIN' | 'OPERATOR' | 'VIEWER';
export const ROLES: readonly Role[] = ['ADMIN', 'OPERATOR', 'VIEWER'];

export interface ApiKey {
  name: string;
  role: Role;
  key: string;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  publicUrl: string;
  logLevel: string;
  /** undefined: run an embedded PostgreSQL under `embeddedDataDir`. */
  databaseUrl?: string;
  embeddedDataDir: string;
  databasePoolMax: number;
  agendaMongoUrl?: string;
  stripe: {
    secretKey: string;
    webhookSecret: string;
    /** Base URL override (a fake Stripe in tests and sandbox mode). */
    apiUrl?: string;
    maxNetworkRetries: number;
    timeoutMs: number;
    checkoutSuccessUrl: string;
    checkoutCancelUrl: string;
  };
  telegram: {
    botToken: string;
    apiUrl: string;
    /** How updates arrive: POST /webhooks/telegram, long polling (development), or not at all. */
    updatesMode: 'webhook' | 'polling' | 'off';
    /** Compared with X-Telegram-Bot-Api-Secret-Token; unset: the webhook route refuses everything. */
    webhookSecret?: string;
    /** Set (webhook mode): setWebhook is called with it at start. */
    webhookUrl?: string;
    /** For deep links; unset: asked of Telegram (getMe) once. */
    botUsername?: string;
    pollTimeoutSec: number;
    bindingTokenTtlHours: number;
    outboxMaxAttempts: number;
    outboxRetryEvery: string;
  };
  auth: {
    jwtSecret?: string;
    jwksUrl?: string;
    jwtIssuer?: string;
    jwtAudience?: string;
    apiKeys: ApiKey[];
  };
  pubsub: 'memory' | 'postgres';
  scheduleTimezone: string;
  /** No Stripe key in development: run against built-in fake Stripe and Telegram servers. */
  sandbox: boolean;
  graphql: {
    maxDepth: number;
    maxComplexity: number;
    introspection: boolean;
  };
  /** Express `trust proxy`: which hops may set X-Forwarded-For (decides the source IP rate limits see). */
  trustProxy: string | number;
  /** Per window, per instance; 0 turns a limit off. */
  rateLimit: {
    windowMs: number;
    webhookMax: number;
    customerMax: number;
  };
  jobs: {
    processEvery: string;
    gatewayEventRetryEvery: string;
    gatewayEventMaxAttempts: number;
  };
  payments: {
    /** A pending payment older than this is stale: it is expired (and its Checkout Session too). */
    checkoutExpiryMinutes: number;
    cleanupCron: string;
    cleanupBatchSize: number;
    largeCleanupThreshold: number;
    /** What to do with a payment that succeeds after we expired or cancelled it. */
    latePaymentPolicy: 'honour' | 'refund';
  };
  delivery: {
    linkTtlHours: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    /** How long a claim lasts; a worker that dies releases its claim when this runs out. */
    leaseMs: number;
    /** A fresh PENDING delivery the periodic sweep leaves to the immediate dispatch. */
    graceMs: number;
    sweepEvery: string;
    concurrency: number;
    telegramTimeoutMs: number;
  };
  access: {
    expiryCron: string;
    batchSize: number;
    /** An auto-renewing subscription lapses only this long after its end, leaving room for dunning. */
    renewalGraceMs: number;
  };
}

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  str(name: string, fallback?: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  }

  required(name: string, when: boolean, fallback: string): string {
    const value = this.str(name);
    if (value !== undefined) return value;
    if (when) this.problems.push(`${name} is required`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  url(name: string, fallback?: string, protocols = ['http:', 'https:']): string | undefined {
    const raw = this.str(name, fallback);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return raw.replace(/\/$/, '');
    } catch {
      this.problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
      return fallback;
    }
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }
}

/** `API_KEYS=name:ROLE:key,name2:ROLE:key2` */
function parseApiKeys(raw: string | undefined, problems: string[]): ApiKey[] {
  if (!raw) return [];
  return raw.split(',').flatMap((entry, index) => {
    const [name, role, key] = entry.trim().split(':');
    if (!name || !key || !ROLES.includes(role as Role)) {
      problems.push(`API_KEYS entry ${index + 1} must be name:ROLE:key with ROLE one of ${ROLES.join(', ')}`);
      return [];
    }
    if (key.length < 16) problems.push(`API_KEYS entry "${name}" must have a key of at least 16 characters`);
    return [{ name, role: role as Role, key }];
  });
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Telegram's own rule for secret_token: https://core.telegram.org/bots/api#setwebhook */
const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

function telegramUpdates(r: Reader, production: boolean) {
  const updatesMode = r.oneOf('TELEGRAM_UPDATES_MODE', ['webhook', 'polling', 'off'] as const, 'webhook');
  const webhookSecret = r.required('TELEGRAM_WEBHOOK_SECRET', production && updatesMode === 'webhook', '') || undefined;
  if (webhookSecret && !SECRET_TOKEN.test(webhookSecret)) r.problems.push('TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -');
  const webhookUrl = r.url('TELEGRAM_WEBHOOK_URL');
  if (webhookUrl && updatesMode === 'webhook' && !webhookSecret) r.problems.push('TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET');
  const botUsername = r.str('TELEGRAM_BOT_USERNAME')?.replace(/^@/, '');
  if (botUsername && !/^[A-Za-z0-9_]{5,32}$/.test(botUsername)) r.problems.push('TELEGRAM_BOT_USERNAME must be a Telegram username (5-32 of A-Z, a-z, 0-9, _)');
  return {
    updatesMode,
    webhookSecret,
    webhookUrl,
    botUsername,
    pollTimeoutSec: r.int('TELEGRAM_POLL_TIMEOUT_SEC', 30, 0, 50),
    bindingTokenTtlHours: r.int('TELEGRAM_BINDING_TOKEN_TTL_HOURS', 168, 1, 24 * 90),
    outboxMaxAttempts: r.int('TELEGRAM_OUTBOX_MAX_ATTEMPTS', 8, 1, 50),
    outboxRetryEvery: r.str('TELEGRAM_OUTBOX_RETRY_EVERY', '1 minute')!,
  };
}

/** `TRUST_PROXY`: a hop count, or express's names/addresses ('loopback, uniquelocal', '10.0.0.0/8'). */
function trustProxy(raw: string): string | number {
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const nodeEnv = r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const production = nodeEnv === 'production';
  const stripeKey = r.str('STRIPE_SECRET_KEY');
  const sandbox = !production && stripeKey === undefined;
  const port = r.int('PORT', 4000, 0, 65535);
  const host = r.str('HOST', '0.0.0.0')!;

  const auth = {
    jwtSecret: r.str('AUTH_JWT_SECRET'),
    jwksUrl: r.url('AUTH_JWKS_URL'),
    jwtIssuer: r.str('AUTH_JWT_ISSUER'),
    jwtAudience: r.str('AUTH_JWT_AUDIENCE'),
    apiKeys: parseApiKeys(r.str('API_KEYS'), r.problems),
  };
  if (production && !auth.jwtSecret && !auth.jwksUrl && auth.apiKeys.length === 0) {
    r.problems.push('AUTH_JWT_SECRET, AUTH_JWKS_URL or API_KEYS is required in production');
  }
  if (auth.jwtSecret && auth.jwtSecret.length < 32) r.problems.push('AUTH_JWT_SECRET must be at least 32 characters');

  const timezone = r.str('SCHEDULE_TIMEZONE', 'UTC')!;
  if (!validTimezone(timezone)) r.problems.push(`SCHEDULE_TIMEZONE "${timezone}" is not a known IANA time zone`);

  const publicUrl = r.url('PUBLIC_URL', `http://localhost:${port}`)!;
  const config: Config = {
    env: nodeEnv,
    port,
    host,
    publicUrl,
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl: r.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
    embeddedDataDir: r.str('EMBEDDED_PG_DIR', '.recoup/pg')!,
    databasePoolMax: r.int('DATABASE_POOL_MAX', 20, 2, 200),
    agendaMongoUrl: r.url('AGENDA_MONGO_URL', undefined, ['mongodb:', 'mongodb+srv:']),
    stripe: {
      secretKey: r.required('STRIPE_SECRET_KEY', production, 'sk_test_sandbox'),
      webhookSecret: r.required('STRIPE_WEBHOOK_SECRET', production || !sandbox, 'whsec_sandbox'),
      apiUrl: r.url('STRIPE_API_URL'),
      maxNetworkRetries: r.int('STRIPE_MAX_NETWORK_RETRIES', 2, 0, 10),
      timeoutMs: r.int('STRIPE_TIMEOUT_MS', 20000, 100, 120000),
      checkoutSuccessUrl: r.url('CHECKOUT_SUCCESS_URL', `${publicUrl}/checkout/success`)!,
      checkoutCancelUrl: r.url('CHECKOUT_CANCEL_URL', `${publicUrl}/checkout/cancel`)!,
    },
    telegram: {
      botToken: r.required('TELEGRAM_BOT_TOKEN', production, '000000:sandbox'),
      apiUrl: r.url('TELEGRAM_API_URL', 'https://api.telegram.org')!,
      ...telegramUpdates(r, production),
    },
    auth,
    pubsub: r.oneOf('PUBSUB', ['memory', 'postgres'] as const, 'memory'),
    scheduleTimezone: timezone,
    sandbox,
    graphql: {
      maxDepth: r.int('GRAPHQL_MAX_DEPTH', 10, 2, 50),
      maxComplexity: r.int('GRAPHQL_MAX_COMPLEXITY', 1000, 10, 100000),
      introspection: r.bool('GRAPHQL_INTROSPECTION', !production),
    },
    trustProxy: trustProxy(r.str('TRUST_PROXY', 'loopback, linklocal, uniquelocal')!),
    rateLimit: {
      windowMs: r.int('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 3600) * 1000,
      webhookMax: r.int('RATE_LIMIT_WEBHOOK_MAX', 600, 0, 1_000_000),
      customerMax: r.int('RATE_LIMIT_CUSTOMER_MAX', 120, 0, 1_000_000),
    },
    jobs: {
      processEvery: r.str('JOBS_PROCESS_EVERY', '5 seconds')!,
      gatewayEventRetryEvery: r.str('GATEWAY_EVENT_RETRY_EVERY', '1 minute')!,
      gatewayEventMaxAttempts: r.int('GATEWAY_EVENT_MAX_ATTEMPTS', 10, 1, 100),
    },
    payments: {
      checkoutExpiryMinutes: r.int('CHECKOUT_EXPIRY_MINUTES', 30, 30, 1440),
      cleanupCron: r.str('CLEANUP_CRON', '*/15 * * * *')!,
      cleanupBatchSize: r.int('CLEANUP_BATCH_SIZE', 500, 1, 10_000),
      largeCleanupThreshold: r.int('LARGE_CLEANUP_THRESHOLD', 10, 1, 1_000_000),
      latePaymentPolicy: r.oneOf('LATE_PAYMENT_POLICY', ['honour', 'refund'] as const, 'honour'),
    },
    delivery: {
      linkTtlHours: r.int('INVITE_LINK_TTL_HOURS', 24, 1, 24),
      maxAttempts: r.int('DELIVERY_MAX_ATTEMPTS', 5, 1, 50),
      backoffBaseMs: r.int('DELIVERY_BACKOFF_BASE_MS', 5_000, 10, 3_600_000),
      backoffCapMs: r.int('DELIVERY_BACKOFF_CAP_MS', 300_000, 10, 86_400_000),
      leaseMs: r.int('DELIVERY_LEASE_MS', 30_000, 1_000, 600_000),
      graceMs: r.int('DELIVERY_GRACE_MS', 120_000, 0, 3_600_000),
      sweepEvery: r.str('DELIVERY_SWEEP_EVERY', '5 minutes')!,
      concurrency: r.int('DELIVERY_CONCURRENCY', 8, 1, 64),
      telegramTimeoutMs: r.int('TELEGRAM_TIMEOUT_MS', 10_000, 100, 60_000),
    },
    access: {
      expiryCron: r.str('ACCESS_EXPIRY_CRON', '0 2 * * *')!,
      batchSize: r.int('ACCESS_EXPIRY_BATCH_SIZE', 200, 1, 10_000),
      renewalGraceMs: r.int('RENEWAL_GRACE_HOURS', 72, 0, 24 * 60) * 3_600_000,
    },
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
