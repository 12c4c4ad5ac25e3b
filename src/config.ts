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
  /** The built dashboard (Vite output) served at /dashboard/; undefined: dist/dashboard in the package. */
  dashboardDir?: string;
  /** Express `trust proxy`: which hops may set X-Forwarded-For (decides the source IP rate limits see). */
  trustProxy: string | number;
  /** Per window, per instance; 0 turns a limit off. */
  rateLimit: {
    windowMs: number;
    webhookMax: number;
    customerMax: number;
  };
  /** Manual capture (plans with captureMode MANUAL): when the authorization is captured. */
  capture: {
    /** delivered: once the invite links were delivered; joined: once the customer joined (access feature calls in). */
    on: 'delivered' | 'joined';
    sweepEvery: string;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    leaseMs: number;
  };
  reconciliation: {
    cron: string;
    windowDays: number;
    /** Parallel list ranges; each range pages on its own. */
    concurrency: number;
    /** Our own ceiling on Stripe requests per second (Stripe's is 100 live, 25 in test mode). */
    maxRequestsPerSecond: number;
    /** Retries of one list page after a 429 or 5xx, with backoff. */
    maxRetries: number;
    /** Objects that changed this recently may have a webhook on the way: not judged yet. */
    graceMinutes: number;
    /** STUCK_AUTHORIZATION this long before Stripe's capture_before. */
    stuckMarginHours: number;
    /** When Stripe gives no capture_before: authorization validity after authorizedAt. */
    authorizationValidityDays: number;
    /** An authorization whose access is still unfulfilled this long after authorizedAt is released. */
    noShowAfterHours: number;
  };
  /** Slack-compatible incoming webhook for HIGH and CRITICAL alerts; unset: no notifications. */
  alertWebhook: {
    url?: string;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    timeoutMs: number;
    sweepEvery: string;
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
    retentionEvery: string;
    failedPaymentRetentionDays: number;
  };
  retries: {
    /** How often the retry queue is processed; each run claims bounded batches. */
    processEvery: string;
    batchSize: number;
    maxBatchesPerRun: number;
    /** Charges in flight at once per instance. */
    concurrency: number;
    /** A claimed job whose worker died is reclaimed after this (its charge is re-sent with the same key). */
    leaseMs: number;
    /** 0..1: the share of each delay that is randomised. */
    jitter: number;
    /** Retries per card across all jobs within the window (card networks' excessive-retry rules). */
    cardBudget: number;
    cardBudgetWindowDays: number;
    renewalsEvery: string;
    renewalBatchSize: number;
    /** The last retry of a renewal is scheduled at least this long before access is cut. */
    lastRetryMarginMs: number;
  };
  email: {
    /** smtp://user:pass@host:port; unset: no email fallback. */
    smtpUrl?: string;
    from: string;
    fallbackGraceMs: number;
    fallbackEvery: string;
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

function captureConfig(r: Reader): Config['capture'] {
  return {
    on: r.oneOf('CAPTURE_ON', ['delivered', 'joined'] as const, 'delivered'),
    sweepEvery: r.str('CAPTURE_SWEEP_EVERY', '1 minute')!,
    maxAttempts: r.int('CAPTURE_MAX_ATTEMPTS', 6, 1, 50),
    backoffBaseMs: r.int('CAPTURE_BACKOFF_BASE_MS', 60_000, 10, 3_600_000),
    backoffCapMs: r.int('CAPTURE_BACKOFF_CAP_MS', 3_600_000, 10, 86_400_000),
    leaseMs: r.int('CAPTURE_LEASE_MS', 60_000, 1_000, 600_000),
  };
}

function reconciliationConfig(r: Reader): Config['reconciliation'] {
  const settings = {
    cron: r.str('RECONCILIATION_CRON', '0 2 * * *')!,
    windowDays: r.int('RECONCILIATION_WINDOW_DAYS', 30, 1, 90),
    concurrency: r.int('RECONCILIATION_CONCURRENCY', 4, 1, 32),
    maxRequestsPerSecond: r.int('RECONCILIATION_MAX_RPS', 20, 1, 100),
    maxRetries: r.int('RECONCILIATION_MAX_RETRIES', 6, 0, 20),
    graceMinutes: r.int('RECONCILIATION_GRACE_MINUTES', 15, 0, 1440),
    stuckMarginHours: r.int('STUCK_AUTHORIZATION_MARGIN_HOURS', 24, 1, 168),
    authorizationValidityDays: r.int('AUTHORIZATION_VALIDITY_DAYS', 7, 1, 31),
    noShowAfterHours: r.int('NO_SHOW_RELEASE_AFTER_HOURS', 72, 1, 24 * 31),
  };
  if (settings.noShowAfterHours >= settings.authorizationValidityDays * 24) {
    r.problems.push('NO_SHOW_RELEASE_AFTER_HOURS must be shorter than AUTHORIZATION_VALIDITY_DAYS, or authorizations expire before they are released');
  }
  return settings;
}

function alertWebhookConfig(r: Reader): Config['alertWebhook'] {
  return {
    url: r.url('ALERT_WEBHOOK_URL'),
    maxAttempts: r.int('ALERT_WEBHOOK_MAX_ATTEMPTS', 6, 1, 20),
    backoffBaseMs: r.int('ALERT_WEBHOOK_BACKOFF_BASE_MS', 2_000, 10, 600_000),
    backoffCapMs: r.int('ALERT_WEBHOOK_BACKOFF_CAP_MS', 300_000, 10, 3_600_000),
    timeoutMs: r.int('ALERT_WEBHOOK_TIMEOUT_MS', 5_000, 100, 60_000),
    sweepEvery: r.str('ALERT_WEBHOOK_SWEEP_EVERY', '30 seconds')!,
  };
}

function retriesConfig(r: Reader): Config['retries'] {
  return {
    processEvery: r.str('RETRY_PROCESS_EVERY', '30 seconds')!,
    batchSize: r.int('RETRY_BATCH_SIZE', 100, 1, 1000),
    maxBatchesPerRun: r.int('RETRY_MAX_BATCHES_PER_RUN', 20, 1, 1000),
    concurrency: r.int('RETRY_CONCURRENCY', 8, 1, 128),
    leaseMs: r.int('RETRY_LEASE_MS', 180_000, 1_000, 3_600_000),
    jitter: r.int('RETRY_JITTER_PERCENT', 10, 0, 50) / 100,
    cardBudget: r.int('RETRY_CARD_BUDGET', 15, 1, 1000),
    cardBudgetWindowDays: r.int('RETRY_CARD_BUDGET_DAYS', 30, 1, 365),
    renewalsEvery: r.str('RENEWALS_EVERY', '5 minutes')!,
    renewalBatchSize: r.int('RENEWAL_BATCH_SIZE', 100, 1, 10_000),
    lastRetryMarginMs: r.int('DUNNING_LAST_RETRY_MARGIN_MINUTES', 60, 0, 10_080) * 60_000,
  };
}

/** A lease shorter than one charge (with the SDK's own retries) would let a second worker re-send a charge still in flight. */
function checkRetryLease(config: Config, problems: string[]): void {
  const callMs = config.stripe.timeoutMs * (config.stripe.maxNetworkRetries + 1);
  if (config.retries.leaseMs <= callMs) {
    problems.push(`RETRY_LEASE_MS must exceed STRIPE_TIMEOUT_MS × (STRIPE_MAX_NETWORK_RETRIES + 1) = ${callMs}`);
  }
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
    dashboardDir: r.str('DASHBOARD_DIR'),
    trustProxy: trustProxy(r.str('TRUST_PROXY', 'loopback, linklocal, uniquelocal')!),
    rateLimit: {
      windowMs: r.int('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 3600) * 1000,
      webhookMax: r.int('RATE_LIMIT_WEBHOOK_MAX', 1200, 0, 1_000_000),
      customerMax: r.int('RATE_LIMIT_CUSTOMER_MAX', 120, 0, 1_000_000),
    },
    capture: captureConfig(r),
    reconciliation: reconciliationConfig(r),
    alertWebhook: alertWebhookConfig(r),
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
      retentionEvery: r.str('RETENTION_EVERY', '1 hour')!,
      failedPaymentRetentionDays: r.int('FAILED_PAYMENT_RETENTION_DAYS', 30, 1, 3650),
    },
    retries: retriesConfig(r),
    email: {
      smtpUrl: r.url('SMTP_URL', undefined, ['smtp:', 'smtps:']),
      from: r.str('EMAIL_FROM', 'Recoup <no-reply@localhost>')!,
      fallbackGraceMs: r.int('EMAIL_FALLBACK_GRACE_MINUTES', 10, 0, 10_080) * 60_000,
      fallbackEvery: r.str('EMAIL_FALLBACK_EVERY', '1 minute')!,
    },
  };
  checkRetryLease(config, r.problems);
  // A confirmed delivery claim is held for half a lease (DeliveryService.holdClaim); the message must go out within it.
  if (config.delivery.leaseMs <= 2 * config.delivery.telegramTimeoutMs) {
    r.problems.push(`DELIVERY_LEASE_MS must exceed 2 × TELEGRAM_TIMEOUT_MS = ${2 * config.delivery.telegramTimeoutMs}`);
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
