import type { SubscriptionService } from '../../access/subscription.service';
import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import { paymentsById } from '../../payments/payment-lookup';
import { PAID_STATUSES } from '../../payments/payment-status';
import { FindingType } from '../reconciliation-finding.entity';
import type { CheckContext, CheckOutcome, Finding, ReconciliationCheck } from './check.types';

const BATCH = 1000;

/**
 * Access without money: an active subscription whose last payment is missing or is not paid
 * (SUCCEEDED, or AUTHORIZED under manual capture) is MISSING_PAYMENT. Database only, keyset-paged
 * over all active subscriptions; every one is examined, so an alert whose subscription is paid
 * again or no longer active resolves.
 */
export class MissingPaymentsCheck implements ReconciliationCheck {
  readonly name = 'missing_payments';

  constructor(private readonly subscriptions: SubscriptionService) {}

  async run(ctx: CheckContext): Promise<CheckOutcome> {
    let after: string | null = null;
    for (;;) {
      const em = ctx.db.fork();
      const page = await this.subscriptions.activePage(em, after, BATCH);
      if (page.length === 0) break;
      const payments = new Map((await paymentsById(em, page.flatMap((s) => (s.lastPaymentId ? [s.lastPaymentId] : [])))).map((p) => [p.id, p]));
      const findings: Finding[] = [];
      for (const subscription of page) {
        const payment = subscription.lastPaymentId ? payments.get(subscription.lastPaymentId) : undefined;
        if (payment && PAID_STATUSES.includes(payment.status)) continue;
        const why = payment ? `its last payment ${payment.id} is ${payment.status}` : subscription.lastPaymentId ? `its last payment ${subscription.lastPaymentId} does not exist` : 'it has no payment';
        findings.push({
          type: FindingType.MISSING_PAYMENT,
          subjectType: 'subscription',
          subjectId: subscription.id,
          detail: `active subscription but ${why}`,
          action: 'alerted',
          data: { customerId: subscription.customerId, bundleId: subscription.bundleId, lastPaymentId: subscription.lastPaymentId, paymentStatus: payment?.status ?? null },
          raise: {
            type: AlertType.MISSING_PAYMENT,
            severity: AlertSeverity.CRITICAL,
            title: 'Access without a paid payment',
            detail: `Subscription ${subscription.id} (customer ${subscription.customerId}, bundle ${subscription.bundleId}) is active but ${why}. End the access or find the payment.`,
            subjectType: 'subscription',
            subjectId: subscription.id,
          },
        });
      }
      await ctx.sink.record(findings);
      after = page[page.length - 1].id;
      if (page.length < BATCH) break;
    }
    return { scopes: [{ alertType: AlertType.MISSING_PAYMENT, subjectType: 'subscription', examined: () => true, note: 'the subscription is paid for again, or no longer active' }] };
  }
}
