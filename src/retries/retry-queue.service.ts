import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import type { Payment } from '../payments/payment.entity';
import { isUuid, newId } from '../platform/shared/ids';
import { LeaseQueue } from '../platform/jobs/lease-queue';
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

type ClaimedRow = { id: string; priority: number; next_attempt_at: Date | string | null };

/**
 * Claims flip due rows to PROCESSING with a lease (lease_expires_at, so next_attempt_at keeps the
 * planned time) and a token in one statement; SKIP LOCKED lets concurrent workers take disjoint
 * rows, and a row stays PROCESSING until its result is recorded, so no other worker sees it due
 * again unless the lease runs out (its worker died). The retry delays are the strategies' own.
 */
function retryJobQueues(leaseMs: number): { due: LeaseQueue<ClaimedRow>; expired: LeaseQueue<ClaimedRow> } {
  const common = { table: 'retry_jobs', leaseColumn: 'lease_expires_at', attemptsColumn: null, claimSet: `status = 'PROCESSING'`, returning: 'id, priority, next_attempt_at', leaseMs };
  return {
    due: new LeaseQueue({ ...common, ready: `status = 'QUEUED'`, order: 'priority desc, next_attempt_at' }),
    expired: new LeaseQueue({ ...common, dueColumn: 'lease_expires_at', ready: `status = 'PROCESSING'` }),
  };
}

/** The durable queue: jobs in, claims out, cancel and status. */
export class RetryQueue {
  private readonly queues: { due: LeaseQueue<ClaimedRow>; expired: LeaseQueue<ClaimedRow> };

  constructor(
    private readonly db: Database,
    private readonly settlement: RetrySettlement,
    leaseMs: number,
  ) {
    this.queues = retryJobQueues(leaseMs);
  }

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
    const now = this.db.clock.now();
    const token = newId();
    const expired = await this.queues.expired.claim(em, { now, limit, set: 'lease_token = ?', setParams: [token] });
    const due = expired.length < limit ? await this.queues.due.claim(em, { now, limit: limit - expired.length, set: 'lease_token = ?', setParams: [token] }) : [];
    // RETURNING does not keep the subquery's order: put the batch back in priority order.
    due.sort((a, b) => b.priority - a.priority || time(a.next_attempt_at) - time(b.next_attempt_at));
    return [...expired, ...due].map((row) => ({ jobId: row.id, leaseToken: token }));
  }

  /** Claims one queued job now (chargeWithRetry charges at once instead of waiting for the sweep). */
  async claimOne(jobId: string): Promise<Claim | null> {
    const token = newId();
    const rows = await this.queues.due.claim(this.db.fork(), { now: this.db.clock.now(), limit: 1, ids: [jobId], set: 'lease_token = ?', setParams: [token] });
    return rows.length ? { jobId, leaseToken: token } : null;
  }

  /**
   * A full lease again, just before the charge: a job claimed in a batch waits behind the others'
   * charges (RETRY_CONCURRENCY lanes), and could otherwise reach Stripe with little of its lease
   * left, be reclaimed by another worker mid-call and be sent twice. False: the claim is lost, the
   * new owner sends the charge.
   */
  async renew(claim: Claim): Promise<boolean> {
    const held = { where: `status = 'PROCESSING' and lease_token = ?`, params: [claim.leaseToken] };
    return (await this.queues.due.renew(this.db.fork(), claim.jobId, this.db.clock.now(), held)) !== null;
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

/** The driver answers raw timestamps as text. */
function time(value: Date | string | null): number {
  return value === null ? 0 : new Date(value).getTime();
}
