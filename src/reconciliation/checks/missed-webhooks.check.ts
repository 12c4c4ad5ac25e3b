import type { AlertService } from '../../alerts/alert.service';
import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import type { GatewayStoredEvent } from '../../integrations/stripe/payment-gateway';
import { HANDLED_EVENT_TYPES } from '../../payments/stripe-events';
import type { WebhookIntake } from '../../inbox/webhook-intake.service';
import { FindingType } from '../reconciliation-finding.entity';
import type { CheckContext, CheckOutcome, Finding, ReconciliationCheck } from './check.types';

/**
 * Stripe's own list of events whose webhook it could not deliver (`delivery_success=false`), of
 * the types Recoup acts on, fed through the same intake as the webhook route: the unique event id
 * makes one we did receive (Stripe's retry got through, or an earlier run replayed it) a no-op, so
 * only events we never had count as missed. Oldest first, as they happened. Runs before the other
 * checks, so that what a missed event explains is repaired rather than reported.
 */
export class MissedWebhooksCheck implements ReconciliationCheck {
  readonly name = 'missed_webhooks';

  constructor(
    private readonly intake: WebhookIntake,
    private readonly alerts: AlertService,
  ) {}

  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const events: GatewayStoredEvent[] = [];
    // Stripe lists an event whose delivery is merely still pending too: only older ones are missed.
    const range = { start: ctx.window.start, end: ctx.settledBefore };
    await ctx.lister.each((query) => ctx.gateway.listUndeliveredEvents({ ...query, types: HANDLED_EVENT_TYPES }), range, 1, async (page) => {
      events.push(...page);
    });
    events.sort((a, b) => a.created.getTime() - b.created.getTime());
    const findings: Finding[] = [];
    for (const event of events) {
      const finding = await this.replay(event);
      if (finding) findings.push(finding);
    }
    if (findings.length > 0) await this.summarise(ctx, findings);
    await ctx.sink.record(findings);
    return {};
  }

  private async replay(event: GatewayStoredEvent): Promise<Finding | null> {
    const base = { type: FindingType.MISSED_WEBHOOK, subjectType: 'event', subjectId: event.id, data: { eventType: event.type, created: event.created.toISOString() } };
    try {
      const result = await this.intake.receiveAndApply({ gateway: 'stripe', eventId: event.id, type: event.type, payload: event.payload });
      if (result.status === 'duplicate') return null;
      return { ...base, detail: `${event.type}: ${result.outcome ?? 'applied'}`, action: 'replayed' };
    } catch (error) {
      // The intake recorded the failure: the gateway-events retry job takes it from here.
      return { ...base, detail: `${event.type}: ${(error as Error).message}`, action: 'replay_failed' };
    }
  }

  /** One alert for the lot (deduplicated while open): the webhook endpoint may need looking at. */
  private async summarise(ctx: CheckContext, findings: Finding[]): Promise<void> {
    const failed = findings.filter((f) => f.action === 'replay_failed').length;
    const types = [...new Set(findings.map((f) => String(f.data?.eventType)))].join(', ');
    const { alert, created } = await this.alerts.raiseNow({
      type: AlertType.MISSED_WEBHOOKS,
      severity: failed > 0 ? AlertSeverity.HIGH : AlertSeverity.MEDIUM,
      title: `Stripe could not deliver ${findings.length} webhook event(s); the reconciliation applied them`,
      detail: `Run ${ctx.runId}: ${findings.length - failed} replayed, ${failed} failed (retried by the gateway-events job). Types: ${types}. Check the webhook endpoint's health in the Stripe dashboard.`,
      subjectType: 'webhook_endpoint',
      subjectId: 'stripe',
    });
    for (const finding of findings) finding.raised = { id: alert.id, created: false, fingerprint: alert.fingerprint };
    if (created) findings[0].raised = { id: alert.id, created: true, fingerprint: alert.fingerprint };
  }
}
