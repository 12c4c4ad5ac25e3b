import type { EntityManager } from '@mikro-orm/postgresql';
import type { CatalogService } from '../catalog/catalog.service';
import type { Scheduler } from '../platform/jobs/scheduler';
import { AppError } from '../platform/shared/errors';
import { CleanupRun } from './cleanup-run.entity';
import { Payment } from './payment.entity';
import { OPEN_STATUSES } from './payment-status';
import type { PendingPayments, PendingView } from './pending-payments.service';

export const CLEANUP_JOB = 'payments:cleanup-stale';

export interface CanProceed {
  canProceed: boolean;
  recommendation: 'PROCEED' | 'PROCEED_AFTER_EXPIRING_STALE' | 'COMPLETE_OR_CANCEL_PENDING' | 'NOT_ON_SALE';
  message: string;
  conflict: PendingView | null;
  otherPending: PendingView[];
}

/** Read-only answers about checkout: may this customer proceed, and how is the cleanup doing. */
export class CheckoutAdvice {
  constructor(
    private readonly pending: PendingPayments,
    private readonly catalog: CatalogService,
    private readonly scheduler: Scheduler,
  ) {}

  async canProceed(em: EntityManager, customerId: string, bundleId: string, planId: string): Promise<CanProceed> {
    const plan = await this.catalog.requirePlan(em, planId);
    if (plan.bundle.id !== bundleId) throw AppError.badInput(`Plan ${planId} is not a plan of bundle ${bundleId}`, { planId, bundleId });
    const open = (await this.pending.openFor(em, customerId)).map((p) => this.pending.view(p));
    const same = open.find((v) => v.payment.bundle.id === bundleId) ?? null;
    const otherPending = open.filter((v) => v !== same);
    if (!plan.active || !plan.bundle.getEntity().active) {
      return { canProceed: false, recommendation: 'NOT_ON_SALE', message: 'This plan is not on sale.', conflict: null, otherPending };
    }
    if (same && !same.stale) {
      return {
        canProceed: false,
        recommendation: 'COMPLETE_OR_CANCEL_PENDING',
        message: `An open payment for this bundle expires in ${same.minutesRemaining} min: complete it, or cancel it and start new.`,
        conflict: same,
        otherPending,
      };
    }
    if (same) {
      return { canProceed: true, recommendation: 'PROCEED_AFTER_EXPIRING_STALE', message: 'A stale payment for this bundle will be expired first.', conflict: same, otherPending };
    }
    return { canProceed: true, recommendation: 'PROCEED', message: 'Nothing blocks this checkout.', conflict: null, otherPending };
  }

  async cleanupStats(em: EntityManager) {
    const [agg] = await em.execute<Array<{ runs: string; expired: string; errors: string }>>(
      `select count(*) as runs, coalesce(sum(expired), 0) as expired, coalesce(sum(errors), 0) as errors from cleanup_runs`,
    );
    const last = await em.findOne(CleanupRun, { finishedAt: { $ne: null } }, { orderBy: { startedAt: 'desc' } });
    const cutoff = this.pending.staleCutoff();
    const staleNow = await em.count(Payment, { status: { $in: [...OPEN_STATUSES] }, createdAt: { $lt: cutoff } });
    const job = (await this.scheduler.status().catch(() => [])).find((j) => j.name === CLEANUP_JOB);
    // A paused job is what an operator must see first, even before its first run.
    const health = job && !job.enabled ? 'PAUSED' : !last ? 'NEVER_RUN' : last.errors > 0 || staleNow > 0 ? 'DEGRADED' : 'HEALTHY';
    return {
      runs: Number(agg.runs),
      expiredTotal: Number(agg.expired),
      expiredLastRun: last?.expired ?? 0,
      lastRunAt: last?.finishedAt ?? null,
      errorsTotal: Number(agg.errors),
      lastError: last?.lastError ?? null,
      staleNow,
      health,
    };
  }
}
