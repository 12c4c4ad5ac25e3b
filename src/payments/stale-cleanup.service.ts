import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertService } from '../alerts/alert.service';
import { recordAudit } from '../audit/audit.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Actor, Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { CleanupRun } from './cleanup-run.entity';
import type { LatePayments } from './late-payments';
import { Payment } from './payment.entity';
import { PaymentKind } from './payment-kind';
import { OPEN_STATUSES, PaymentStatus } from './payment-status';
import type { PendingPayments } from './pending-payments.service';

export interface CleanupReport {
  expired: number;
  foundPaid: number;
  errors: number;
  refundsRetried: number;
}

const isSystem = (actor: Actor): boolean => actor.id.startsWith('system:');

/** A run stops after this long even if more is stale (bounded; the next run continues). */
const MAX_RUN_MS = 60_000;

/**
 * Expires pending payments older than the expiry, through the state machine and Stripe (see
 * PendingPayments.close), in bounded batches found through the payments_open_by_age partial index.
 */
export class StaleCleanup {
  constructor(
    private readonly db: Database,
    private readonly pending: PendingPayments,
    private readonly late: LatePayments,
    private readonly alerts: AlertService,
    private readonly settings: { batchSize: number; largeThreshold: number },
    private readonly logger: Logger,
  ) {}

  async run(actor: Actor, trigger: string, customerId?: string): Promise<CleanupReport & { runId: string }> {
    const run = await this.db.transaction(async (tx) => {
      const created = tx.em.create(CleanupRun, { trigger, startedAt: tx.clock.now() });
      tx.em.persist(created);
      return created;
    });
    const report: CleanupReport = { expired: 0, foundPaid: 0, errors: 0, refundsRetried: 0 };
    let lastError: string | null = null;
    const started = Date.now();
    // Keyset: each batch starts after the last one, so payments that failed (and stay open) are not
    // fetched again and cannot fill a batch and end the run before the rest are reached.
    let after: Payment | null = null;
    while (Date.now() - started < MAX_RUN_MS) {
      const stale = await this.staleBatch(this.db.fork(), after, customerId);
      for (const payment of stale) {
        try {
          const { outcome } = await this.pending.close(actor, payment.id, PaymentStatus.EXPIRED, `stale: older than ${this.pending.expiryMinutes} minutes`);
          if (outcome === 'closed') report.expired++;
          if (outcome === 'found_paid') report.foundPaid++;
        } catch (error) {
          report.errors++;
          lastError = `${payment.id}: ${(error as Error).message}`;
        }
      }
      if (stale.length < this.settings.batchSize) break;
      after = stale[stale.length - 1];
    }
    if (!customerId) report.refundsRetried = (await this.late.refundAllOwed()).refunded;
    await this.finish(run.id, report, lastError, { actor, trigger, customerId });
    return { ...report, runId: run.id };
  }

  private async staleBatch(em: EntityManager, after: Payment | null, customerId?: string): Promise<Payment[]> {
    const cutoff = this.pending.staleCutoff();
    const afterLast = after
      ? { createdAt: { $lt: cutoff, $gte: after.createdAt }, $or: [{ createdAt: { $gt: after.createdAt } }, { id: { $gt: after.id } }] }
      : { createdAt: { $lt: cutoff } };
    return em.find(
      Payment,
      // Only abandoned checkouts go stale: renewal and off-session payments are the retry queue's to close.
      { status: { $in: [...OPEN_STATUSES] }, kind: PaymentKind.CHECKOUT, ...afterLast, ...(customerId ? { customer: customerId } : {}) },
      { orderBy: { createdAt: 'asc', id: 'asc' }, limit: this.settings.batchSize },
    );
  }

  private async finish(runId: string, report: CleanupReport, lastError: string | null, by: { actor: Actor; trigger: string; customerId?: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      const run = await tx.em.findOneOrFail(CleanupRun, runId);
      Object.assign(run, { finishedAt: tx.clock.now(), expired: report.expired, foundPaid: report.foundPaid, errors: report.errors, lastError });
      // A run someone asked for (forceCleanup, cleanupStalePayments) is an action of theirs: one
      // audit entry with what it did, committed with the run's counts. The scheduled job's runs
      // are on record as cleanup runs already.
      if (!isSystem(by.actor)) {
        recordAudit(tx, by.actor, {
          action: 'cleanup.run',
          subjectType: 'cleanup_run',
          subjectId: runId,
          after: { trigger: by.trigger, customerId: by.customerId ?? null, ...report },
          note: lastError,
        });
      }
      if (report.expired > this.settings.largeThreshold) {
        await this.alerts.raise(tx, {
          type: AlertType.LARGE_CLEANUP,
          severity: AlertSeverity.MEDIUM,
          title: `Cleanup expired ${report.expired} stale payments`,
          detail: `Run ${runId} expired ${report.expired} pending payments (threshold ${this.settings.largeThreshold}). Many abandoned checkouts can mean a broken checkout page or a Stripe outage.`,
          subjectType: 'cleanup_run',
          subjectId: runId,
        });
      }
    });
    this.logger.info({ runId, ...report }, 'stale payment cleanup');
  }
}
