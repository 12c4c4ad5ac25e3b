import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import type { Payment } from '../payments/payment.entity';
import { isUuid, newId } from '../platform/shared/ids';
import { publishRetryEvent, RetryEventType } from './retry-events';
import { RetryJob, RetryJobStatus, RetryOrigin } from './retry-job.entity';
import type { RetrySettlement } from './retry-settlement';
import { RetryError } from './retry.errors';
import type { FailureDetails } from './retry-settlement';
import { classifyFailure, type RetryStrategy } from './strategies';

export interface Claim {
  jobId: string;
  leaseToken: string;
}

export interface ChargeJobInput {
  payment: Payment;
  origin: RetryOrigin.RENEWAL | RetryOrigin.CHARGE;
  subscriptionId?: string | null;
  renewalPeriodEnd?: Date | null;
  deadlineAt?: Date | null;
}

export interface RetryJobInput {
  payment: Payment;
  failure: FailureDetails;
  strategy: RetryStrategy;
  nextAttemptAt: Date;
}

/**
 * Claims flip due rows to PROCESSING with a lease in one statement; SKIP LOCKED lets concurrent
 * workers take disjoint rows, and a row stays PROCESSING until its result is recorded, so no
 * other worker sees it due again unless the lease runs out (its worker died).
 */
const claimSql = (where: string, order: string): string =>
  `update retry_jobs j set status = 'PROCESSING', lease_token = ?, lease_expires_at = ?, updated_at = ?
     from (select id from retry_jobs where ${where} order by ${order} limit ? for update skip locked) due
    where j.id = due.id
   returning j.id, j.priority, j.next_attempt_at`;
const CLAIM_EXPIRED = claimSql(`status = 'PROCESSING' and lease_expires_at <= ?`, 'lease_expires_at');
const CLAIM_DUE = claimSql(`status = 'QUEUED' and next_attempt_at <= ?`, 'priority desc, next_attempt_at');
const CLAIM_ONE = claimSql(`id = ? and status = 'QUEUED'`, 'id');

type ClaimedRow = { id: string; priority: number; next_attempt_at: Date | null };

/** The durable queue: jobs in, claims out, cancel and status. */
export class RetryQueue {
  constructor(
    private readonly db: Database,
    private readonly settlement: RetrySettlement,
    private readonly leaseMs: number,
  ) {}

  /** A charge owed now (a renewal, chargeWithRetry): attempt 1 is the charge itself. Flushes, so the unique indexes answer here. */
  async enqueueCharge(tx: Tx, input: ChargeJobInput): Promise<RetryJob> {
    const job = this.newJob(tx, input.payment, input.origin, tx.clock.now());
    Object.assign(job, { firstAttemptIsCharge: true, maxAttempts: 1, subscriptionId: input.subscriptionId ?? null, renewalPeriodEnd: input.renewalPeriodEnd ?? null, deadlineAt: input.deadlineAt ?? null });
    await tx.em.flush();
    publishRetryEvent(tx, RetryEventType.QUEUED, job);
    return job;
  }

  /** A charge that already failed elsewhere (queueRetry): every attempt is a retry. */
  async enqueueRetry(tx: Tx, input: RetryJobInput): Promise<RetryJob> {
    const job = this.newJob(tx, input.payment, RetryOrigin.QUEUED, input.nextAttemptAt);
    const { failure } = input;
    Object.assign(job, { maxAttempts: input.strategy.maxAttempts, errorCode: failure.code, declineCode: failure.declineCode, adviceCode: failure.adviceCode, errorMessage: failure.message, reason: classifyFailure(failure) });
    await tx.em.flush();
    publishRetryEvent(tx, RetryEventType.QUEUED, job);
    return job;
  }

  async openJob(em: EntityManager, paymentId: string): Promise<RetryJob | null> {
    return isUuid(paymentId) ? em.findOne(RetryJob, { payment: paymentId, status: { $in: [RetryJobStatus.QUEUED, RetryJobStatus.PROCESSING] } }) : null;
  }

  /** The payment's latest job, open or finished. */
  async latest(em: EntityManager, paymentId: string): Promise<RetryJob | null> {
    return isUuid(paymentId) ? em.findOne(RetryJob, { payment: paymentId }, { orderBy: { createdAt: 'desc', id: 'desc' } }) : null;
  }

  /** Only a queued job is cancelled: one whose charge is in flight finishes first, so its outcome is never lost. */
  async cancel(actor: Actor, paymentId: string): Promise<RetryJob> {
    return this.db.transaction(async (tx) => {
      const open = await this.openJob(tx.em, paymentId);
      if (!open) throw RetryError.noOpenJob(paymentId);
      const job = await tx.em.findOneOrFail(RetryJob, open.id, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (job.status === RetryJobStatus.PROCESSING) throw RetryError.inFlight(job.id);
      if (job.status !== RetryJobStatus.QUEUED) throw RetryError.noOpenJob(paymentId);
      await this.settlement.cancel(tx, job, `cancelled by ${actor.id}`, actor);
      recordAudit(tx, actor, { action: 'retry.cancel', subjectType: 'payment', subjectId: paymentId, before: { status: RetryJobStatus.QUEUED }, after: { status: job.status, jobId: job.id } });
      return job;
    });
  }

  /** Jobs whose worker died first (their lease ran out), then due jobs, larger amounts first. */
  async claimDue(limit: number): Promise<Claim[]> {
    const em = this.db.fork();
    const { now, token, until } = this.lease();
    const expired: ClaimedRow[] = await em.execute(CLAIM_EXPIRED, [token, until, now, now, limit]);
    const due: ClaimedRow[] = expired.length < limit ? await em.execute(CLAIM_DUE, [token, until, now, now, limit - expired.length]) : [];
    // RETURNING does not keep the subquery's order: put the batch back in priority order.
    due.sort((a, b) => b.priority - a.priority || Number(a.next_attempt_at) - Number(b.next_attempt_at));
    return [...expired, ...due].map((row) => ({ jobId: row.id, leaseToken: token }));
  }

  /** Claims one queued job now (chargeWithRetry charges at once instead of waiting for the sweep). */
  async claimOne(jobId: string): Promise<Claim | null> {
    const { now, token, until } = this.lease();
    const rows: ClaimedRow[] = await this.db.fork().execute(CLAIM_ONE, [token, until, now, jobId, 1]);
    return rows.length ? { jobId, leaseToken: token } : null;
  }

  private lease(): { now: Date; token: string; until: Date } {
    const now = this.db.clock.now();
    return { now, token: newId(), until: new Date(now.getTime() + this.leaseMs) };
  }

  private newJob(tx: Tx, payment: Payment, origin: RetryOrigin, nextAttemptAt: Date): RetryJob {
    const job = tx.em.create(RetryJob, {
      payment,
      customer: payment.customer,
      origin,
      amountMinor: payment.amountMinor,
      currency: payment.currency,
      priority: payment.amountMinor,
      stripeCustomerId: payment.stripeCustomerId,
      stripePaymentMethodId: payment.stripePaymentMethodId,
      nextAttemptAt,
    });
    tx.em.persist(job);
    return job;
  }
}
