import type { SubscriptionDunning } from '../access/subscription-dunning.service';
import { type Subscription, SubscriptionStatus } from '../access/subscription.entity';
import type { Tx } from '../platform/database/transaction';
import type { OffSessionPayments } from '../payments/off-session-payments';
import { OPEN_STATUSES, PAID_STATUSES, type PaymentStatus } from '../payments/payment-status';
import type { RetryBudget } from './retry-budget';
import type { RetryJob } from './retry-job.entity';
import type { FailureDetails } from './retry-settlement';

/** However often a worker dies mid-charge, a job stops after this many charges. */
export const MAX_ATTEMPTS_PER_JOB = 12;

export type Verdict =
  | { kind: 'charge'; isRetry: boolean }
  | { kind: 'paid'; status: PaymentStatus }
  | { kind: 'cancel'; why: string }
  | { kind: 'exhaust'; why: string }
  | { kind: 'fail'; failure: FailureDetails };

const noCard: FailureDetails = { code: 'payment_method_missing', declineCode: null, adviceCode: null, statusCode: null, message: 'No saved card to charge.' };

/**
 * What must still hold before a claimed job charges the card, read for a whole batch in the
 * claim's transaction (three queries, whatever the batch size): the payment is still unpaid and
 * open, a renewal's subscription still wants this period renewed, there is a card, and the
 * card's retry budget is not spent.
 */
export class RetryPrechecks {
  constructor(
    private readonly payments: OffSessionPayments,
    private readonly subscriptions: SubscriptionDunning,
    private readonly budget: RetryBudget,
  ) {}

  async verdicts(tx: Tx, jobs: RetryJob[]): Promise<Map<string, Verdict>> {
    const statuses = await this.payments.statuses(tx.em, jobs.map((job) => job.payment.id));
    const subscriptions = await this.subscriptions.findMany(tx.em, jobs.flatMap((job) => (job.subscriptionId ? [job.subscriptionId] : [])));
    const cards = jobs.flatMap((job) => (job.stripePaymentMethodId ? [job.stripePaymentMethodId] : []));
    const used = await this.budget.usedByCards(tx.em, cards, tx.clock.now());
    return new Map(jobs.map((job) => [job.id, this.verdictFor(job, statuses.get(job.payment.id), job.subscriptionId ? subscriptions.get(job.subscriptionId) : undefined, used)]));
  }

  /** `used` counts this batch's planned retries too, so two jobs on one card cannot both take its last retry. */
  private verdictFor(job: RetryJob, status: PaymentStatus | undefined, subscription: Subscription | undefined, used: Map<string, number>): Verdict {
    if (!status) return { kind: 'cancel', why: 'payment not found' };
    if (PAID_STATUSES.includes(status)) return { kind: 'paid', status };
    if (!OPEN_STATUSES.includes(status)) return { kind: 'cancel', why: `payment is ${status}` };
    const renewal = job.subscriptionId ? renewalVerdict(job, subscription) : null;
    if (renewal) return renewal;
    if (!job.stripeCustomerId || !job.stripePaymentMethodId) return { kind: 'fail', failure: noCard };
    if (job.attempts >= MAX_ATTEMPTS_PER_JOB) return { kind: 'exhaust', why: `${MAX_ATTEMPTS_PER_JOB} charges sent` };
    const isRetry = job.attempts > 0 || !job.firstAttemptIsCharge;
    if (!isRetry) return { kind: 'charge', isRetry };
    const spent = used.get(job.stripePaymentMethodId) ?? 0;
    if (spent >= this.budget.limit) return { kind: 'exhaust', why: `card retry budget spent (${this.budget.limit})` };
    used.set(job.stripePaymentMethodId, spent + 1);
    return { kind: 'charge', isRetry };
  }
}

/** A customer who paid by hand, turned auto-renew off or lapsed is not charged for the period. */
function renewalVerdict(job: RetryJob, subscription: Subscription | undefined): Verdict | null {
  if (!subscription || subscription.status === SubscriptionStatus.LAPSED) return { kind: 'cancel', why: 'subscription lapsed' };
  if (!subscription.autoRenew) return { kind: 'cancel', why: 'auto-renew turned off' };
  if (job.renewalPeriodEnd && subscription.currentPeriodEnd > job.renewalPeriodEnd) return { kind: 'cancel', why: 'period already paid' };
  return null;
}
