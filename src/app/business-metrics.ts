import { CASHFREE_FACT_EVENT_TYPES } from '../integrations/cashfree/facts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertService } from '../alerts/alert.service';
import { TELEGRAM_GATEWAY } from '../access/telegram-updates.service';
import { deliveryFigures } from '../delivery/delivery-figures';
import { inboxFigures } from '../inbox/inbox-figures';
import { STRIPE_FACT_EVENT_TYPES } from '../integrations/stripe/facts';
import { ALLOWED_UPDATES } from '../integrations/telegram/telegram-update';
import { paymentCountsByStatus } from '../payments/payment-counts';
import type { BusinessFigures, Metrics } from '../platform/observability/metrics';
import { openFindingCounts } from '../reconciliation/reconciliation-figures';
import { OPEN_JOB_STATUSES } from '../retries/retry-job.entity';
import { openRetryJobCounts } from '../retries/retry-stats';
import { RetryReason } from '../retries/strategies';
import type { Services } from './services';

/** Each statement of a scrape's read gives up after this long: a slow database costs the scrape stale figures, not a hang. */
export const COLLECT_STATEMENT_TIMEOUT_MS = 1000;

const ageSeconds = (now: Date, since: Date | null): number => (since ? Math.max(0, (now.getTime() - since.getTime()) / 1000) : 0);

/**
 * The database-backed figures, read through `em` statement by statement. Every statement reads
 * counters or a partial index over the rows that still need work (owed deliveries, unapplied
 * events, open retry jobs, open alerts), never a whole table: see each feature's SQL, and
 * test/integration/business-metrics.test.ts, which EXPLAINs the statements this runs.
 */
export async function collectBusinessFigures(em: Pick<EntityManager, 'execute'>, alerts: Pick<AlertService, 'openCountsBySeverity'>, now: () => Date): Promise<BusinessFigures> {
  const openAlerts = await alerts.openCountsBySeverity(em);
  const payments = await paymentCountsByStatus(em);
  const deliveries = await deliveryFigures(em);
  const inbox = await inboxFigures(em);
  const open = await openRetryJobCounts(em);
  const openFindings = await openFindingCounts(em);
  const at = now();
  // Every open status with every reason, 0 where there is none: a bounded set of series that never vanish.
  const retryJobs = OPEN_JOB_STATUSES.flatMap((status) =>
    [...Object.values(RetryReason), 'NONE'].map((reason) => ({ status, reason, n: open.find((r) => r.status === status && r.reason === reason)?.n ?? 0 })),
  );
  return {
    openAlerts,
    payments,
    deliveries: deliveries.byStatus,
    deliveryOldestOwedAgeSeconds: ageSeconds(at, deliveries.oldestOwedSince),
    inboxUnapplied: inbox.unapplied,
    inboxOldestUnappliedAgeSeconds: ageSeconds(at, inbox.oldestReceivedAt),
    retryJobs,
    openFindings,
  };
}

/** collectBusinessFigures in one read-only transaction whose statements each give up after COLLECT_STATEMENT_TIMEOUT_MS. */
export async function readBusinessFigures(services: Pick<Services, 'db' | 'alerts' | 'clock'>): Promise<BusinessFigures> {
  return services.db.fork().transactional(async (tem) => {
    const em = tem as EntityManager;
    await em.execute(`set transaction read only`);
    await em.execute(`set local statement_timeout = ${COLLECT_STATEMENT_TIMEOUT_MS}`);
    return collectBusinessFigures(em, services.alerts, () => services.clock.now());
  });
}

/** Wires the scrape-time figures and the webhook event types that get a label of their own. */
export function reportBusinessMetrics(metrics: Metrics, services: Services): void {
  metrics.knowWebhookTypes('stripe', STRIPE_FACT_EVENT_TYPES);
  metrics.knowWebhookTypes('cashfree', CASHFREE_FACT_EVENT_TYPES);
  metrics.knowWebhookTypes(TELEGRAM_GATEWAY, ALLOWED_UPDATES);
  const logger = services.logger.child({ component: 'metrics' });
  metrics.reportBusiness(async () => {
    try {
      return await readBusinessFigures(services);
    } catch (error) {
      logger.warn({ err: error }, 'could not read the business figures for /metrics; the last ones are shown');
      throw error;
    }
  });
}
