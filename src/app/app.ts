import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveLogFormat, type Config } from '../platform/config';
import { migrateDatabase } from './migrate';
import { openAppOrm } from './entities';
import { createStripeClient, StripeGateway } from '../integrations/stripe/stripe.gateway';
import { StripeWebhookVerifier } from '../integrations/stripe/stripe-webhook';
import { CashfreeSdkGateway, createCashfreeClient, type CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import { CashfreeWebhookVerifier } from '../integrations/cashfree/cashfree-webhook';
import { createAuthenticator } from '../platform/graphql/auth';
import { createMemoryPubSub, createPostgresPubSub } from '../platform/graphql/pubsub';
import { buildAppSchema } from '../platform/graphql/schema';
import { createResolverContainer, RESOLVERS } from './resolvers';
import { mountGraphql } from '../platform/http/graphql';
import { Metrics } from '../platform/observability/metrics';
import { customerRateLimit } from '../platform/http/rate-limit';
import { createExpressApp, finishExpressApp } from './http';
import { Scheduler } from '../platform/jobs/scheduler';
import { listenForInbox } from '../inbox/inbox-listener';
import { createServices, type Services } from './services';
import { reportBusinessMetrics } from './business-metrics';
import { systemClock, type Clock } from '../platform/shared/clock';
import { createLogger, type Logger } from '../platform/observability/logger';
import { JobFailureAlerts } from '../alerts/job-failure-alerts';

export interface AppOptions {
  config: Config;
  /** Required: main.ts resolves the embedded database before calling. */
  databaseUrl: string;
  clock?: Clock;
  logger?: Logger;
  /** Start the job scheduler (default true). Tests that drive jobs by hand may turn it off. */
  startJobs?: boolean;
}

export interface RecoupApp {
  services: Services;
  httpServer: Server;
  url: string;
  port: number;
  /**
   * /readyz answers 503 from now on (a load balancer stops sending); resolves once no request is being
   * answered. The listener stays open meanwhile, so health checks get the 503; stop() then closes it.
   */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

function gatewayMode(config: Config): 'LIVE' | 'TEST' | 'SANDBOX' {
  if (config.sandbox) return 'SANDBOX';
  return config.stripe.secretKey.startsWith('sk_live_') || config.stripe.secretKey.startsWith('rk_live_') ? 'LIVE' : 'TEST';
}

/** The second gateway, when its keys are set (or sandbox mode points it at the fake). */
function cashfreeGateway(config: Config): CashfreeGateway | null {
  const settings = config.cashfree;
  if (!settings.enabled) return null;
  const mode = config.sandbox ? 'SANDBOX' : settings.environment === 'production' ? 'LIVE' : 'TEST';
  return new CashfreeSdkGateway(createCashfreeClient({ ...settings, mode }), { timeoutMs: settings.timeoutMs, checkoutUrl: settings.checkoutUrl, mode });
}

/** Wiring: database → services → jobs → server. Everything it opens, stop() closes. */
export async function startApp(options: AppOptions): Promise<RecoupApp> {
  const { config, databaseUrl } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel, {}, undefined, resolveLogFormat(config.logFormat));

  await migrateDatabase(databaseUrl);
  const orm = await openAppOrm(databaseUrl, config.databasePoolMax);
  const pubsub = config.pubsub === 'postgres' ? await createPostgresPubSub(databaseUrl, logger) : createMemoryPubSub();
  const stripe = createStripeClient(config.stripe);
  const gateway = new StripeGateway(stripe, gatewayMode(config));
  const metrics = new Metrics();
  const scheduler = new Scheduler({
    backend: config.agendaMongoUrl ? { kind: 'mongo', url: config.agendaMongoUrl } : { kind: 'postgres', connectionString: databaseUrl },
    timezone: config.scheduleTimezone,
    processEvery: config.jobs.processEvery,
    // The Scheduler labels its own lines (component: 'scheduler'); a child here too wrote the key twice.
    logger,
    onJobRun: async (name, outcome, ms, error) => {
      metrics.jobRuns.inc({ job: name, outcome });
      metrics.jobDuration.observe({ job: name }, ms / 1000);
      await jobFailureAlerts.onRun(name, outcome, error);
    },
  });
  const cashfree = cashfreeGateway(config);
  const services = createServices({ config, clock, logger, orm, pubsub, gateway, cashfree, scheduler, metrics });
  // Jobs run only once the scheduler starts, below: by then this is set.
  const jobFailureAlerts = new JobFailureAlerts(services.db, services.alerts, logger.child({ component: 'job-alerts' }));
  reportBusinessMetrics(metrics, services);

  const httpServer = createServer();
  const cashfreeVerifier = cashfree ? new CashfreeWebhookVerifier(config.cashfree.webhookSecrets) : null;
  const app = createExpressApp({ config, health: services.health, metrics, logger, verifier: new StripeWebhookVerifier(stripe, config.stripe.webhookSecrets), cashfreeVerifier, verificationProvider: services.verificationProvider, intake: services.intake, telegramUpdates: services.telegramUpdates });
  const schema = await buildAppSchema(RESOLVERS, createResolverContainer(services), pubsub);
  const authenticate = createAuthenticator(config.auth);
  const rateLimit = customerRateLimit(config.rateLimit, authenticate);
  const graphql = await mountGraphql({ schema, config, db: services.db, logger, authenticate, httpServer, rateLimit });
  app.use('/graphql', ...rateLimit.middleware, ...graphql.middleware);
  finishExpressApp(app, logger);
  httpServer.on('request', app);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const inboxListener = await listenForInbox(databaseUrl, services.intake, logger.child({ component: 'inbox' }));
  // Events a previous process stored but did not apply (it stopped or died) are applied now.
  services.intake.wake();
  // Not fatal: updates queue up at Telegram until the webhook is registered or polling starts.
  await services.telegramUpdates.start().catch((error: unknown) => logger.error({ err: error }, 'telegram updates did not start'));
  if (options.startJobs !== false) {
    await scheduler.start();
    // Deliveries a previous process owed when it stopped (or died) go out now, not at the next sweep.
    void services.recoverySweep.run('startup').catch((error: unknown) => logger.error({ err: error }, 'start-up recovery sweep failed'));
  }

  const url = `http://127.0.0.1:${port}`;
  logger.info({ url, gatewayMode: gateway.mode, pubsub: pubsub.mode, scheduler: scheduler.backendKind }, 'recoup is up');
  return {
    services,
    httpServer,
    url,
    port,
    drain: async () => {
      services.health.draining = true;
      await services.health.whenNoRequests();
    },
    stop: async () => {
      services.health.draining = true;
      // The drain plugin closes the listener, closes idle connections and waits for in-flight requests.
      await graphql.stop();
      await services.telegramUpdates.stop();
      await inboxListener.close();
      await services.intake.stop();
      await services.dispatcher.stop();
      services.recoveryStatsFeed.stop();
      await services.manualCapture.stop();
      await services.reconciliation.stop();
      await services.alertNotifier.stop();
      await services.telegramOutbox.whenIdle();
      await scheduler.stop();
      await pubsub.close();
      await orm.close(true);
    },
  };
}
