import { registerEnumType } from 'type-graphql';
import type { CustomerService } from '../customers/customer.service';
import type { Database, Tx } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { Topic } from '../platform/shared/topics';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { RetryJob, type RetryJobStatus } from './retry-job.entity';
import type { RetryReason } from './strategies';

export enum RetryEventType {
  QUEUED = 'QUEUED',
  ATTEMPTED = 'ATTEMPTED',
  SUCCEEDED = 'SUCCEEDED',
  EXHAUSTED = 'EXHAUSTED',
  CANCELLED = 'CANCELLED',
  CUSTOMER_ACTION_NEEDED = 'CUSTOMER_ACTION_NEEDED',
}
registerEnumType(RetryEventType, { name: 'RetryEventType' });

/** Plain JSON: it may cross instances through Postgres NOTIFY. */
export interface RetryEventPayload {
  type: RetryEventType;
  jobId: string | null;
  paymentId: string;
  customerId: string;
  subscriptionId: string | null;
  status: RetryJobStatus | null;
  attempts: number;
  reason: RetryReason | null;
  errorCode: string | null;
  declineCode: string | null;
  /** What went wrong, or what the customer was asked to do (CUSTOMER_ACTION_NEEDED). */
  message: string | null;
  nextAttemptAt: Date | null;
  amountMinor: number;
  currency: string;
  at: Date;
}

export function retryEvent(type: RetryEventType, job: RetryJob, at: Date, message?: string | null): RetryEventPayload {
  return {
    type,
    jobId: job.id,
    paymentId: job.payment.id,
    customerId: job.customer.id,
    subscriptionId: job.subscriptionId,
    status: job.status,
    attempts: job.attempts,
    reason: job.reason,
    errorCode: job.errorCode,
    declineCode: job.declineCode,
    message: message ?? job.errorMessage,
    nextAttemptAt: job.nextAttemptAt,
    amountMinor: job.amountMinor,
    currency: job.currency,
    at,
  };
}

export function publishRetryEvent(tx: Tx, type: RetryEventType, job: RetryJob, message?: string | null): void {
  tx.publish(Topic.RETRY_EVENT, retryEvent(type, job, tx.clock.now(), message));
}

export function formatMoney(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() });
  return format.format(amountMinor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Tells a customer what only they can fix (authenticate, use another card), over Telegram, after
 * the deciding transaction commits. Best effort: a failure is logged and left on the job (no
 * customerNotifiedAt); the CUSTOMER_ACTION_NEEDED event and the alert reach the operators anyway.
 */
export class CustomerNotifier {
  constructor(
    private readonly db: Database,
    private readonly customers: CustomerService,
    private readonly telegram: TelegramClient,
    private readonly logger: Logger,
  ) {}

  /** `title`: the message's bold first line (default: "Payment of <amount> needs you"). */
  notifyAfterCommit(tx: Tx, target: { customerId: string; jobId: string | null; amountMinor: number; currency: string }, message: string, title?: string): void {
    tx.afterCommit(() => this.notify(target, message, title ?? `Payment of ${formatMoney(target.amountMinor, target.currency)} needs you`));
  }

  private async notify(target: { customerId: string; jobId: string | null; amountMinor: number; currency: string }, message: string, title: string): Promise<void> {
    const customer = await this.customers.require(this.db.fork(), target.customerId);
    if (!customer.telegramUserId) {
      this.logger.warn({ customerId: target.customerId, jobId: target.jobId }, 'customer action needed but the customer has no Telegram chat');
      return;
    }
    try {
      await this.telegram.sendMessage(customer.telegramUserId, `<b>${escapeHtml(title)}</b>\n\n${message}`);
    } catch (error) {
      this.logger.warn({ err: error, customerId: target.customerId, jobId: target.jobId }, 'could not notify the customer');
      return;
    }
    if (target.jobId) {
      await this.db.transaction(async (tx) => {
        const job = await tx.em.findOne(RetryJob, target.jobId!);
        if (job) job.customerNotifiedAt = tx.clock.now();
      });
    }
  }
}
