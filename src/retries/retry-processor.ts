import { LockMode } from '@mikro-orm/core';
import { systemActor, type Database } from '../platform/database/transaction';
import { GatewayError } from '../integrations/stripe/gateway.errors';
import type { GatewayPaymentIntent, OffSessionChargeInput, PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { Logger } from '../platform/observability/logger';
import { AttemptOutcome, RetryAttempt } from './retry-attempt.entity';
import type { PlannedCharge, PlannedSettlement, RetryBatch } from './retry-batch';
import { RetryJob } from './retry-job.entity';
import type { Claim, RetryQueue } from './retry-queue.service';
import type { FailureDetails, RetryObserver, RetrySettlement } from './retry-settlement';
import { outcomeUnknown } from './strategies';

export interface ProcessorSettings {
  batchSize: number;
  maxBatchesPerRun: number;
  concurrency: number;
}

export interface RunSummary {
  claimed: number;
  charged: number;
  succeeded: number;
  failed: number;
  settledWithoutCharge: number;
  errors: number;
  /** Wall time of the batch claims and of their pre-charge transactions. */
  claimMs: number;
  prepareMs: number;
  /** Summed over jobs (lanes overlap): the Stripe calls and the result transactions. */
  chargeMs: number;
  recordMs: number;
}

type ChargeResult = { ok: true; intent: GatewayPaymentIntent } | { ok: false; failure: FailureDetails & { paymentIntentId: string | null } };

const actor = systemActor('retry-processor');
const CHARGED = ['succeeded', 'processing', 'requires_capture'];
const emptySummary = (): RunSummary => ({ claimed: 0, charged: 0, succeeded: 0, failed: 0, settledWithoutCharge: 0, errors: 0, claimMs: 0, prepareMs: 0, chargeMs: 0, recordMs: 0 });

/**
 * Works the queue in bounded batches: claim (one statement, SKIP LOCKED, a lease), prepare (one
 * transaction: checks and attempt rows), then per job the Stripe call outside any transaction
 * and a transaction that records the answer.
 */
export class RetryProcessor {
  constructor(
    private readonly db: Database,
    private readonly queue: RetryQueue,
    private readonly batch: RetryBatch,
    private readonly gateway: PaymentGateway,
    private readonly settlement: RetrySettlement,
    private readonly settings: ProcessorSettings,
    private readonly logger: Logger,
    private readonly observer: RetryObserver = {},
  ) {}

  async run(overrides: Partial<ProcessorSettings> = {}): Promise<RunSummary> {
    const { batchSize, maxBatchesPerRun, concurrency } = { ...this.settings, ...overrides };
    const summary = emptySummary();
    for (let batch = 0; batch < maxBatchesPerRun; batch++) {
      const claims = await timed(summary, 'claimMs', () => this.queue.claimDue(batchSize));
      summary.claimed += claims.length;
      await this.work(claims, concurrency, summary);
      if (claims.length < batchSize) break;
    }
    return summary;
  }

  /** Charges one queued job now (chargeWithRetry); false when another worker has it. */
  async processNow(jobId: string): Promise<boolean> {
    const claim = await this.queue.claimOne(jobId);
    if (claim) await this.work([claim], 1, emptySummary());
    return claim !== null;
  }

  private async work(claims: Claim[], concurrency: number, summary: RunSummary): Promise<void> {
    let plan;
    try {
      plan = await timed(summary, 'prepareMs', () => this.batch.prepare(claims));
    } catch (error) {
      // The batch stays PROCESSING; its lease runs out and the next run claims it again.
      summary.errors += claims.length;
      return void this.logger.error({ err: error, jobs: claims.length }, 'retry batch could not be prepared');
    }
    for (const settlement of plan.settlements) await this.settle(settlement, summary);
    // In claim order (larger amounts first): prepare reads the jobs back in whatever order the table gives.
    const rank = new Map(claims.map((claim, index) => [claim.jobId, index]));
    plan.charges.sort((a, b) => rank.get(a.claim.jobId)! - rank.get(b.claim.jobId)!);
    await eachLimited(plan.charges, concurrency, (charge) => this.chargeAndRecord(charge, summary));
  }

  private async chargeAndRecord(planned: PlannedCharge, summary: RunSummary): Promise<void> {
    const started = performance.now();
    try {
      // Its attempt row stays IN_FLIGHT: the new owner takes it as unknown and sends this same key.
      if (!(await this.queue.renew(planned.claim))) return void this.logger.warn({ jobId: planned.claim.jobId }, 'claim lost before charging: another worker owns this job now');
      summary.charged++;
      const result = await timed(summary, 'chargeMs', () => this.charge(planned.input));
      await timed(summary, 'recordMs', () => this.record(planned.claim, planned.attemptId, result));
      if (result.ok) summary.succeeded++;
      else summary.failed++;
      this.processed(result.ok ? 'succeeded' : 'failed', started);
    } catch (error) {
      // Recorded nowhere: the job stays PROCESSING until its lease runs out, then the same key is re-sent.
      summary.errors++;
      this.processed('error', started);
      this.logger.error({ err: error, jobId: planned.claim.jobId }, 'retry charge could not be recorded');
    }
  }

  /** A job the checks settled without charging: paid elsewhere, cancelled, out of budget, no card. */
  private async settle({ claim, verdict, outcomeUnknown: unknown }: PlannedSettlement, summary: RunSummary): Promise<void> {
    const started = performance.now();
    try {
      await this.db.transaction(async (tx) => {
        const job = await tx.em.findOne(RetryJob, { id: claim.jobId, leaseToken: claim.leaseToken }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!job) return;
        if (verdict.kind === 'paid') this.settlement.paidElsewhere(tx, job, verdict.status);
        else if (verdict.kind === 'cancel') await this.settlement.cancel(tx, job, verdict.why, actor);
        else if (verdict.kind === 'exhaust') await this.settlement.exhaust(tx, job, verdict.why, unknown);
        else await this.settlement.failed(tx, job, verdict.failure, null);
      });
      summary.settledWithoutCharge++;
      this.processed('settled', started);
    } catch (error) {
      summary.errors++;
      this.processed('error', started);
      this.logger.error({ err: error, jobId: claim.jobId }, 'retry job could not be settled');
    }
  }

  private processed(result: 'succeeded' | 'failed' | 'settled' | 'error', started: number): void {
    this.observer.processed?.(result, (performance.now() - started) / 1000);
  }

  private async charge(input: OffSessionChargeInput): Promise<ChargeResult> {
    try {
      const intent = await this.gateway.createOffSessionCharge(input);
      if (CHARGED.includes(intent.status)) return { ok: true, intent };
      const code = intent.status === 'requires_action' ? 'authentication_required' : intent.lastErrorCode;
      return { ok: false, failure: { code, declineCode: null, adviceCode: null, statusCode: 402, message: intent.lastErrorMessage, paymentIntentId: intent.id } };
    } catch (error) {
      if (!(error instanceof GatewayError)) this.logger.error({ err: error, jobId: input.retryJobId }, 'off-session charge threw an unexpected error');
      const e = error instanceof GatewayError ? error : null;
      return {
        ok: false,
        failure: { code: e?.gatewayCode ?? null, declineCode: e?.declineCode ?? null, adviceCode: e?.adviceCode ?? null, statusCode: e?.statusCode ?? null, message: (error as Error).message, paymentIntentId: e?.paymentIntentId ?? null },
      };
    }
  }

  /** Result after the call. A claim lost meanwhile leaves the job alone: its new owner re-sends this key and records the same answer. */
  private async record(claim: Claim, attemptId: string, result: ChargeResult): Promise<void> {
    await this.db.transaction(async (tx) => {
      const attempt = await tx.em.findOneOrFail(RetryAttempt, attemptId);
      const failure = result.ok ? null : result.failure;
      Object.assign(attempt, {
        outcome: result.ok ? AttemptOutcome.SUCCEEDED : outcomeUnknown(failure!) ? AttemptOutcome.UNKNOWN : AttemptOutcome.FAILED,
        finishedAt: tx.clock.now(),
        ...(failure ? { errorCode: failure.code, declineCode: failure.declineCode, adviceCode: failure.adviceCode, message: failure.message, statusCode: failure.statusCode } : {}),
        stripePaymentIntentId: result.ok ? result.intent.id : failure!.paymentIntentId,
      });
      const job = await tx.em.findOne(RetryJob, claim.jobId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!job || job.leaseToken !== claim.leaseToken) return void this.logger.warn({ jobId: claim.jobId }, 'claim lost before the result was recorded');
      if (result.ok) await this.settlement.succeeded(tx, job, attempt, result.intent);
      else await this.settlement.failed(tx, job, result.failure, attempt);
    });
  }
}

async function timed<T>(summary: RunSummary, field: 'claimMs' | 'prepareMs' | 'chargeMs' | 'recordMs', work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    summary[field] += performance.now() - started;
  }
}

async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
