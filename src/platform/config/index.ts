/**
 * The one place that reads the environment. Everything else receives a `Config`.
 * `loadConfig` validates every variable and throws one error listing every problem.
 * Each section is read in its feature's file; this file composes them, in the order problems are reported.
 */
import { databaseUrl } from './database';
import { accessConfig, checkDeliveryLease, deliveryConfig, emailConfig, type AccessConfig, type DeliveryConfig, type EmailConfig } from './delivery';
import { authConfig, graphqlConfig, rateLimitConfig, type AuthConfig, type GraphqlConfig, type RateLimitConfig } from './http-auth';
import { alertWebhookConfig, reconciliationConfig, type AlertWebhookConfig, type ReconciliationConfig } from './monitoring';
import { captureConfig, cashfreeConfig, jobsConfig, paymentsConfig, stripeConfig, type CaptureConfig, type CashfreeConfig, type JobsConfig, type PaymentsConfig, type StripeConfig } from './payments';
import { checkBackoffs, queuesConfig, type QueuesConfig } from './queues';
import { ConfigError, Reader, trustProxy, validTimezone, type Env } from './reader';
import { checkRetryLease, retriesConfig, type RetriesConfig } from './retries';
import { telegramConfig, type TelegramConfig } from './telegram';
import { tracingConfig, type TracingConfig } from './tracing';
import { verificationConfig, type VerificationConfig } from './verification';

export { ConfigError, ROLES } from './reader';
export { queueBackoff } from './queues';
export type { ApiKey, Role } from './reader';
export type { TracingConfig } from './tracing';
export type { VerificationConfig } from './verification';

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  publicUrl: string;
  /** DRAIN_TIMEOUT_MS: how long a SIGTERM drain may take before the process exits 1 anyway. */
  drainTimeoutMs: number;
  logLevel: string;
  /** LOG_FORMAT: json, pretty, or auto (pretty when stdout is a terminal); resolveLogFormat decides. */
  logFormat: 'json' | 'pretty' | 'auto';
  /** OpenTelemetry (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME); off without an endpoint. */
  tracing: TracingConfig;
  /** undefined: run an embedded PostgreSQL under `embeddedDataDir` (never in production: there it is required). */
  databaseUrl?: string;
  embeddedDataDir: string;
  databasePoolMax: number;
  agendaMongoUrl?: string;
  stripe: StripeConfig;
  /** The second gateway, for plans with gateway CASHFREE; `enabled` false without its keys. */
  cashfree: CashfreeConfig;
  telegram: TelegramConfig;
  auth: AuthConfig;
  pubsub: 'memory' | 'postgres';
  scheduleTimezone: string;
  /** No Stripe key in development: run against built-in fake Stripe and Telegram servers. */
  sandbox: boolean;
  graphql: GraphqlConfig;
  /** The built dashboard (Vite output) served at /dashboard/; undefined: dist/dashboard in the package. */
  dashboardDir?: string;
  /** Express `trust proxy`: which hops may set X-Forwarded-For (decides the source IP rate limits see). */
  trustProxy: string | number;
  /** Per window, per instance; 0 turns a limit off. */
  rateLimit: RateLimitConfig;
  /** Manual capture (plans with captureMode MANUAL): when the authorization is captured. */
  capture: CaptureConfig;
  reconciliation: ReconciliationConfig;
  /** Slack-compatible incoming webhook for HIGH and CRITICAL alerts; unset: no notifications. */
  alertWebhook: AlertWebhookConfig;
  jobs: JobsConfig;
  payments: PaymentsConfig;
  delivery: DeliveryConfig;
  access: AccessConfig;
  retries: RetriesConfig;
  email: EmailConfig;
  /** KYC + e-sign before checkout: the provider and its webhook secret. */
  verification: VerificationConfig;
  /** Shared by every lease queue: the backoff jitter, and the inbox's and Telegram outbox's base and cap. */
  queues: QueuesConfig;
}

/** `read`: filled with the name of every variable asked for (tests compare it with `.env.example`). */
export function loadConfig(env: Env = process.env, read?: Set<string>): Config {
  const r = new Reader(env, read);
  const nodeEnv = r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const production = nodeEnv === 'production';
  const stripeKey = r.str('STRIPE_SECRET_KEY');
  const sandbox = !production && stripeKey === undefined;
  const port = r.int('PORT', 4000, 0, 65535);
  const host = r.str('HOST', '0.0.0.0')!;

  const auth = authConfig(r, production);

  const timezone = r.str('SCHEDULE_TIMEZONE', 'UTC')!;
  if (!validTimezone(timezone)) r.problems.push(`SCHEDULE_TIMEZONE "${timezone}" is not a known IANA time zone`);

  const publicUrl = r.url('PUBLIC_URL', `http://localhost:${port}`)!;
  // Property order is read order: each reader may push a problem, and problems are listed as found.
  const config: Config = {
    env: nodeEnv,
    port,
    host,
    publicUrl,
    drainTimeoutMs: r.int('DRAIN_TIMEOUT_MS', 25_000, 1000, 600_000),
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    logFormat: r.oneOf('LOG_FORMAT', ['json', 'pretty', 'auto'] as const, 'auto'),
    tracing: tracingConfig(r),
    databaseUrl: databaseUrl(r, production),
    embeddedDataDir: r.str('EMBEDDED_PG_DIR', '.recoup/pg')!,
    databasePoolMax: r.int('DATABASE_POOL_MAX', 20, 2, 200),
    agendaMongoUrl: r.url('AGENDA_MONGO_URL', undefined, ['mongodb:', 'mongodb+srv:']),
    stripe: stripeConfig(r, production, sandbox, publicUrl),
    cashfree: cashfreeConfig(r, production, publicUrl),
    telegram: telegramConfig(r, production),
    auth,
    pubsub: r.oneOf('PUBSUB', ['memory', 'postgres'] as const, 'memory'),
    scheduleTimezone: timezone,
    sandbox,
    graphql: graphqlConfig(r, production),
    dashboardDir: r.str('DASHBOARD_DIR'),
    trustProxy: trustProxy(r.str('TRUST_PROXY', 'loopback, linklocal, uniquelocal')!),
    rateLimit: rateLimitConfig(r),
    capture: captureConfig(r),
    reconciliation: reconciliationConfig(r),
    alertWebhook: alertWebhookConfig(r),
    jobs: jobsConfig(r),
    payments: paymentsConfig(r),
    delivery: deliveryConfig(r),
    access: accessConfig(r),
    retries: retriesConfig(r),
    email: emailConfig(r),
    verification: verificationConfig(r, production),
    queues: queuesConfig(r),
  };
  // Cross-section checks come last, after every single-variable problem.
  checkRetryLease(config.stripe, config.retries, r.problems);
  checkDeliveryLease(config.delivery, r.problems);
  // Outside sandbox mode nothing else can sell the default's plans (sandbox runs a fake Cashfree).
  if (config.payments.defaultGateway === 'CASHFREE' && !config.cashfree.enabled && !sandbox) r.problems.push('DEFAULT_GATEWAY=CASHFREE needs CASHFREE_APP_ID and CASHFREE_SECRET_KEY');
  checkBackoffs({ CAPTURE: config.capture, ALERT_WEBHOOK: config.alertWebhook, DELIVERY: config.delivery, INBOX: config.queues.inbox, TELEGRAM_OUTBOX: config.queues.telegramOutbox }, r.problems);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/**
 * What the logger writes: LOG_FORMAT=json or pretty as set; auto is readable lines when stdout is a
 * terminal (a person is watching) and JSON otherwise (a container, a pipe, a log collector).
 */
export function resolveLogFormat(setting: Config['logFormat'], stdoutIsTTY: boolean = Boolean(process.stdout.isTTY)): 'json' | 'pretty' {
  if (setting !== 'auto') return setting;
  return stdoutIsTTY ? 'pretty' : 'json';
}
