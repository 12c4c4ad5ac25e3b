import { PaymentGatewayName } from '../catalog/plan.entity';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { SubscriptionDunning } from '../access/subscription-dunning.service';
import { systemActor, type Database, type Tx } from '../platform/database/transaction';
import type { OffSessionPayments } from '../payments/off-session-payments';
import { Payment } from '../payments/payment.entity';
import { PaymentKind } from '../payments/payment-kind';
import type { PaymentService } from '../payments/payment.service';
import type { Logger } from '../platform/observability/logger';
import { formatMoney, type CustomerNotifier } from './retry-events';
import { RetryOrigin, type RetryJob } from './retry-job.entity';
import type { RetryQueue } from './retry-queue.service';
import type { RetrySettlement } from './retry-settlement';
import { RetryReason } from './strategies';

const actor = systemActor('dunning');

/** Why the renewal did not go through, in the customer's words. */
const DECLINED: Partial<Record<RetryReason, string>> = {
  [RetryReason.INSUFFICIENT_FUNDS]: 'the bank declined it for insufficient funds',
  [RetryReason.HARD_DECLINE]: 'the bank declined the card',
  [RetryReason.UNKNOWN]: 'the charge did not go through',
};

export interface DunningSettings {
  /** How long after its end an auto-renewing subscription keeps access (the access expiry's RENEWAL_GRACE_HOURS). */
  renewalGraceMs: number;
  lastRetryMarginMs: number;
  batchSize: number;
}

export interface RenewalReport {
  due: number;
  queued: number;
  skipped: number;
}

/**
 * Dunning: an auto-renewing subscription is charged when its period ends, through the retry queue
 * (a RENEWAL payment plus a job due now). A failed charge makes the subscription PAST_DUE while it
 * is retried; success extends it through the payment state machine; when the retries are spent it
 * lapses and the access expiry removes the customer. Every retry is scheduled before access is cut
 * (period end + RENEWAL_GRACE_HOURS − DUNNING_LAST_RETRY_MARGIN_MINUTES).
 */
export class DunningService {
  constructor(
    private readonly db: Database,
    private readonly subscriptions: SubscriptionDunning,
    private readonly payments: PaymentService,
    private readonly offSession: OffSessionPayments,
    private readonly queue: RetryQueue,
    private readonly settings: DunningSettings,
    private readonly notifier: CustomerNotifier,
    private readonly logger: Logger,
  ) {}

  watch(settlement: RetrySettlement): void {
    settlement.watch({
      failed: async (tx, job) => {
        if (job.origin === RetryOrigin.RENEWAL && job.subscriptionId) await this.subscriptions.markPastDue(tx, actor, job.subscriptionId, `renewal charge failed: ${job.declineCode ?? job.errorCode}`);
      },
      // A customer asked to act (authenticate, use another card) keeps the grace period to pay by
      // checkout; the access expiry lapses the subscription when it ends. Otherwise it lapses now.
      gaveUp: async (tx, job, why, customerCanAct, outcomeUnknown) => {
        if (job.origin !== RetryOrigin.RENEWAL || !job.subscriptionId || customerCanAct) return;
        await this.subscriptions.lapse(tx, actor, job.subscriptionId, `renewal retries exhausted: ${why}`);
        // The customer is told their access is ending, unless Stripe may have the money after all.
        if (!outcomeUnknown) await this.tellRenewalFailed(tx, job);
      },
    });
  }

  /**
   * The renewal could not be charged and its retries are spent: the subscription has lapsed and
   * the customer is told over Telegram after commit (best effort, as every retry notice; the
   * job's customerNotifiedAt records that it went out).
   */
  private async tellRenewalFailed(tx: Tx, job: RetryJob): Promise<void> {
    const payment = await tx.em.findOneOrFail(Payment, job.payment.id, { populate: ['bundle'] });
    const amount = formatMoney(job.amountMinor, job.currency);
    const tries = job.attempts;
    const message = [
      `We could not charge ${amount} to your saved card for the renewal: ${DECLINED[job.reason ?? RetryReason.UNKNOWN] ?? DECLINED[RetryReason.UNKNOWN]}. We tried ${tries} ${tries === 1 ? 'time' : 'times'}.`,
      'Your access to the channels ends now. To come back, buy the plan again.',
    ].join('\n\n');
    this.notifier.notifyAfterCommit(tx, { customerId: job.customer.id, jobId: job.id, amountMinor: job.amountMinor, currency: job.currency }, message, `Your ${payment.bundle.getEntity().name} subscription was not renewed`);
  }

  /** Bounded: one batch of due subscriptions per run, each renewed in its own transaction. */
  async renewDue(): Promise<RenewalReport> {
    const ids = await this.dueIds(this.settings.batchSize);
    const report: RenewalReport = { due: ids.length, queued: 0, skipped: 0 };
    for (const id of ids) {
      try {
        if (await this.renewOne(id)) report.queued++;
        else report.skipped++;
      } catch (error) {
        report.skipped++;
        // An open checkout for the bundle (one open payment per bundle), or another instance renewing it: next run.
        if (!(error instanceof UniqueConstraintViolationException)) this.logger.error({ err: error, subscriptionId: id }, 'renewal could not be queued');
      }
    }
    return report;
  }

  /** Read-only: due subscriptions whose current period has no renewal job yet. */
  private async dueIds(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.db.fork().execute(
      `select s.id from subscriptions s
        where s.status = 'ACTIVE' and s.auto_renew and not s.is_test and s.current_period_end <= ?
          and not exists (select 1 from retry_jobs j where j.subscription_id = s.id and j.renewal_period_end = s.current_period_end)
        order by s.current_period_end limit ?`,
      [this.db.clock.now(), limit],
    );
    return rows.map((r) => r.id);
  }

  private async renewOne(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const subscription = await this.subscriptions.lockDue(tx, id);
      if (!subscription?.lastPaymentId) return false;
      const last = await this.payments.require(tx.em, subscription.lastPaymentId);
      // Cashfree saves no card to charge: the subscription ends with its period, renewed only by a new checkout.
      if (last.gateway !== PaymentGatewayName.STRIPE) return false;
      const card = subscription.stripeCustomerId && subscription.stripePaymentMethodId
        ? { stripeCustomerId: subscription.stripeCustomerId, stripePaymentMethodId: subscription.stripePaymentMethodId }
        : null;
      const payment = await this.offSession.create(tx, actor, { customerId: subscription.customer.id, planId: last.plan.id, kind: PaymentKind.RENEWAL, card });
      const end = subscription.currentPeriodEnd;
      const deadlineAt = new Date(end.getTime() + this.settings.renewalGraceMs - this.settings.lastRetryMarginMs);
      await this.queue.enqueueCharge(tx, { payment, origin: RetryOrigin.RENEWAL, subscriptionId: subscription.id, renewalPeriodEnd: end, deadlineAt });
      return true;
    });
  }
}
