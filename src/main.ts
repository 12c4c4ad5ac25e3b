import 'reflect-metadata';
// First: tracing must start before express, pg and graphql are required (see tracing-preload.ts).
import { tracing } from './tracing-preload';
import { randomBytes } from 'node:crypto';
import { startApp, type RecoupApp } from './app/app';
import { ConfigError, loadConfig, resolveLogFormat, type Config } from './platform/config';
import { startEmbeddedPostgres } from './platform/database/embedded';
import { startFakeStripe } from './sandbox/stripe/fake-stripe.server';
import { startFakeCashfree } from './sandbox/cashfree/fake-cashfree.server';
import { createLogger, type Logger } from './platform/observability/logger';
import { startFakeTelegram } from './sandbox/telegram/fake-telegram.server';
import { startFakeVerification } from './sandbox/verification/fake-verification.server';

type Closer = () => Promise<unknown>;

/**
 * Sandbox mode (development, no STRIPE_SECRET_KEY): the same fake Stripe and Telegram servers the
 * tests use, on loopback. Checkout URLs open the fake's pay page, which sends signed webhooks back.
 */
async function startSandbox(config: Config, logger: Logger, closers: Closer[]): Promise<Config> {
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  const stripe = await startFakeStripe({ webhookUrl: `http://127.0.0.1:${config.port}/webhooks/stripe`, webhookSecret, deliverApiEvents: true });
  const telegram = await startFakeTelegram({ botToken: config.telegram.botToken });
  closers.push(() => stripe.close(), () => telegram.close());
  // Cashfree plans too, unless real Cashfree keys were given: a fake whose pay page signs webhooks back.
  const cashfree = config.cashfree.enabled ? null : await startFakeCashfree({ webhookUrl: `http://127.0.0.1:${config.port}/webhooks/cashfree` });
  if (cashfree) closers.push(() => cashfree.close());
  logger.warn(
    { fakeStripe: stripe.url, fakeTelegram: telegram.url, fakeCashfree: cashfree?.url },
    'SANDBOX MODE: no STRIPE_SECRET_KEY, so Recoup talks to built-in fake Stripe and Telegram servers. No real money moves. Set STRIPE_SECRET_KEY to leave sandbox mode.',
  );
  return {
    ...config,
    stripe: { ...config.stripe, apiUrl: stripe.url, webhookSecrets: [webhookSecret] },
    cashfree: cashfree
      ? { ...config.cashfree, enabled: true, appId: cashfree.appId, secretKey: cashfree.secretKey, webhookSecrets: [cashfree.secretKey], environment: 'sandbox', apiUrl: cashfree.apiUrl, checkoutUrl: cashfree.checkoutUrl }
      : config.cashfree,
    // The fake bot has no public URL to call back: Recoup long-polls it, as in local development.
    telegram: { ...config.telegram, apiUrl: telegram.url, updatesMode: 'polling' },
  };
}

/**
 * VERIFICATION_PROVIDER=sandbox (the default outside production) with no VERIFICATION_API_URL: the
 * built-in fake KYC / e-sign provider on loopback, signing its webhooks with VERIFICATION_WEBHOOK_SECRET.
 */
async function startSandboxVerification(config: Config, logger: Logger, closers: Closer[]): Promise<Config> {
  if (config.verification.provider !== 'sandbox' || config.verification.apiUrl) return config;
  const fake = await startFakeVerification({ webhookSecret: config.verification.webhookSecret, webhookUrl: `http://127.0.0.1:${config.port}/webhooks/verification` });
  closers.push(() => fake.close());
  logger.warn({ fakeVerification: fake.url }, 'SANDBOX VERIFICATION: plans that require verification use the built-in fake KYC / e-sign provider; nobody is really verified');
  return { ...config, verification: { ...config.verification, apiUrl: fake.url } };
}

/** Development with no credentials configured: mint an ADMIN API key for this run and say so. */
function withDevCredentials(config: Config, logger: Logger): Config {
  const { auth } = config;
  if (config.env === 'production' || auth.jwtSecret || auth.jwksUrl || auth.apiKeys.length > 0) return config;
  const key = `dev-${randomBytes(18).toString('hex')}`;
  logger.warn(
    { apiKey: key, header: 'x-api-key', dashboard: `${config.publicUrl}/dashboard/#key=${key}` },
    'DEVELOPMENT: no AUTH_JWT_SECRET or API_KEYS set; use this ADMIN API key for this run (send it as the x-api-key header, or open the dashboard link)',
  );
  return { ...config, auth: { ...auth, apiKeys: [{ name: 'dev', role: 'ADMIN', key }] } };
}

async function main(): Promise<void> {
  let config = loadConfig();
  const logger = createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat));
  const closers: Closer[] = [];
  if (tracing) closers.push(tracing.shutdown); // closed last: flushes the spans of the shutdown too
  const running: { app?: RecoupApp } = {};

  let stopping = false;
  const shutdown = async (signal: string) => {
    // A second signal, or a drain past DRAIN_TIMEOUT_MS: stop waiting. Unapplied events stay stored.
    if (stopping) {
      logger.warn({ signal }, 'second signal while draining: exiting now');
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      logger.error({ drainTimeoutMs: config.drainTimeoutMs }, 'drain took too long: exiting now');
      process.exit(1);
    }, config.drainTimeoutMs);
    logger.info({ signal }, 'draining: /readyz answers 503, in-flight requests finish, then exit');
    await running.app?.drain();
    let code = 0;
    await running.app?.stop().catch((error: unknown) => {
      code = 1;
      logger.error({ err: error }, 'error while stopping');
    });
    for (const close of closers.reverse()) await close().catch(() => undefined);
    logger.info({ signal, code }, 'stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: config.embeddedDataDir, persistent: true, logger });
    closers.push(() => embedded.stop());
    databaseUrl = embedded.url;
    logger.info({ dataDir: config.embeddedDataDir }, 'no DATABASE_URL: using the embedded PostgreSQL');
  }
  if (config.sandbox) config = await startSandbox(config, logger, closers);
  config = await startSandboxVerification(config, logger, closers);
  config = withDevCredentials(config, logger);
  running.app = await startApp({ config, databaseUrl, logger });
  logger.info({ graphql: `${config.publicUrl}/graphql`, dashboard: `${config.publicUrl}/dashboard/` }, 'GraphQL and the dashboard are ready');
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(1);
});
