import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { recordAudit } from '../audit/audit.service';
import { gatewayEventRetryJob } from '../inbox/gateway-events-retry.job';
import { WebhookIntake } from '../inbox/webhook-intake.service';
import { queueBackoff, type Config } from '../platform/config';
import type { Database } from '../platform/database/transaction';
import type { Scheduler } from '../platform/jobs/scheduler';
import type { Logger } from '../platform/observability/logger';
import type { Metrics } from '../platform/observability/metrics';

/**
 * The inbox every webhook is stored in before it is acknowledged, and its sweep job. The features
 * register their appliers with it (payments: Stripe; access: Telegram updates). Giving up on an
 * event raises GATEWAY_EVENT_FAILED; applying it after all resolves that alert.
 */
export function createInbox(deps: { config: Config; db: Database; scheduler: Scheduler; alerts: AlertService; metrics: Metrics; logger: Logger }): WebhookIntake {
  const { config, alerts } = deps;
  const settings = { maxAttempts: config.jobs.gatewayEventMaxAttempts, leaseMs: config.jobs.inboxLeaseMs, batchSize: config.jobs.inboxBatchSize, batchApply: config.jobs.inboxBatchApply, backoff: queueBackoff(config.queues.inbox, config.queues) };
  const intake = new WebhookIntake(deps.db, deps.logger.child({ component: 'inbox' }), settings, {
    onOutcome: (gateway, type, outcome) => deps.metrics.webhookEvent(gateway, type, outcome),
    onGaveUp: async (tx, event) => {
      await alerts.raise(tx, {
        type: AlertType.GATEWAY_EVENT_FAILED,
        severity: AlertSeverity.HIGH,
        title: `Gave up applying ${event.gateway} event ${event.type}`,
        detail: `Event ${event.eventId} failed ${event.attempts} times; last error: ${event.lastError}`,
        subjectType: 'gateway_event',
        subjectId: event.id,
      });
    },
    // A redelivery (or a retry) applied it after all: the alert about giving up no longer holds.
    onRecovered: async (tx, event) => {
      await alerts.resolveByFingerprint(tx, `${AlertType.GATEWAY_EVENT_FAILED}:gateway_event:${event.id}`, `event ${event.eventId} applied on attempt ${event.attempts}`, 'webhook-intake');
    },
    // An operator's replay gave the event its attempts back: who and what, with the change.
    onReplay: (tx, actor, { event, before, after }) => {
      recordAudit(tx, actor, { action: 'inbound_event.replay', subjectType: 'gateway_event', subjectId: event.id, before, after, note: `${event.gateway} event ${event.eventId} (${event.type})` });
    },
  });
  deps.scheduler.define(gatewayEventRetryJob(intake, config.jobs.gatewayEventRetryEvery));
  return intake;
}
