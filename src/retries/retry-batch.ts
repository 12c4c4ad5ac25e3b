import type { Database, Tx } from '../platform/database/transaction';
import type { OffSessionChargeInput } from '../integrations/stripe/payment-gateway';
import { AttemptOutcome, RetryAttempt } from './retry-attempt.entity';
import { RetryJob } from './retry-job.entity';
import type { RetryPrechecks, Verdict } from './retry-prechecks';
import type { Claim } from './retry-queue.service';

export interface PlannedCharge {
  claim: Claim;
  attemptId: string;
  input: OffSessionChargeInput;
}

export interface PlannedSettlement {
  claim: Claim;
  verdict: Exclude<Verdict, { kind: 'charge' }>;
  /** The job's last charge got no answer: Stripe may hold the money. */
  outcomeUnknown: boolean;
}

export interface BatchPlan {
  charges: PlannedCharge[];
  settlements: PlannedSettlement[];
}

type LastAttempt = { id: string; idempotency_key: string; outcome: AttemptOutcome };

/**
 * The pre-charge transaction of a claimed batch, a handful of statements whatever its size:
 * the checks, then one attempt row per charge with its idempotency key — intent recorded before
 * Stripe hears of it. Why a retry cannot charge twice: a new key (retry:<jobId>:<attempt>) is
 * used only after Stripe answered that the previous one did not charge; when the previous
 * attempt got no answer (timeout, 5xx, a worker that died mid-call) its key is sent again, and
 * Stripe answers the first result instead of charging again.
 * https://docs.stripe.com/api/idempotent_requests
 */
export class RetryBatch {
  constructor(
    private readonly db: Database,
    private readonly prechecks: RetryPrechecks,
  ) {}

  async prepare(claims: Claim[]): Promise<BatchPlan> {
    if (claims.length === 0) return { charges: [], settlements: [] };
    const byJob = new Map(claims.map((claim) => [claim.jobId, claim]));
    return this.db.transaction(async (tx) => {
      const tokens = [...new Set(claims.map((c) => c.leaseToken))];
      const jobs = await tx.em.find(RetryJob, { id: { $in: [...byJob.keys()] }, leaseToken: { $in: tokens } });
      const last = await this.lastAttempts(tx, jobs.map((job) => job.id));
      const verdicts = await this.prechecks.verdicts(tx, jobs);
      const plan: BatchPlan = { charges: [], settlements: [] };
      for (const job of jobs) {
        const claim = byJob.get(job.id)!;
        const prior = last.get(job.id);
        const unknown = prior !== undefined && prior.outcome !== AttemptOutcome.FAILED && prior.outcome !== AttemptOutcome.SUCCEEDED;
        const verdict = verdicts.get(job.id)!;
        if (verdict.kind === 'charge') plan.charges.push(this.startAttempt(tx, claim, job, verdict.isRetry, unknown ? prior.idempotency_key : null));
        else plan.settlements.push({ claim, verdict, outcomeUnknown: unknown });
      }
      return plan;
    });
  }

  /** The latest attempt per job; one left IN_FLIGHT belonged to a worker that died (its lease ran out): its outcome is unknown. */
  private async lastAttempts(tx: Tx, jobIds: string[]): Promise<Map<string, LastAttempt>> {
    if (jobIds.length === 0) return new Map();
    const rows: Array<LastAttempt & { job_id: string }> = await tx.em.execute(
      `select distinct on (job_id) job_id, id, idempotency_key, outcome from retry_attempts
        where job_id = any(?::uuid[]) order by job_id, attempt desc`,
      [`{${jobIds.join(',')}}`],
    );
    const lost = rows.filter((r) => r.outcome === AttemptOutcome.IN_FLIGHT).map((r) => r.id);
    if (lost.length > 0) {
      await tx.em.execute(
        `update retry_attempts set outcome = 'UNKNOWN', finished_at = ?, message = 'no answer recorded: the worker stopped or its lease ran out', updated_at = ?
          where id = any(?::uuid[])`,
        [tx.clock.now(), tx.clock.now(), `{${lost.join(',')}}`],
      );
    }
    return new Map(rows.map((r) => [r.job_id, r]));
  }

  private startAttempt(tx: Tx, claim: Claim, job: RetryJob, isRetry: boolean, resendKey: string | null): PlannedCharge {
    job.attempts += 1;
    const key = resendKey ?? `retry:${job.id}:${job.attempts}`;
    const attempt = tx.em.create(RetryAttempt, {
      job, attempt: job.attempts, idempotencyKey: key, stripePaymentMethodId: job.stripePaymentMethodId,
      isRetry, outcome: AttemptOutcome.IN_FLIGHT, startedAt: tx.clock.now(),
    });
    tx.em.persist(attempt);
    const input: OffSessionChargeInput = {
      paymentId: job.payment.id, retryJobId: job.id, amountMinor: job.amountMinor, currency: job.currency,
      stripeCustomerId: job.stripeCustomerId!, stripePaymentMethodId: job.stripePaymentMethodId!, idempotencyKey: key,
    };
    return { claim, attemptId: attempt.id, input };
  }
}
