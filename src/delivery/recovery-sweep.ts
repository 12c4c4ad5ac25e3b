import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import type { DeliveryDispatcher } from './delivery-dispatcher';
import type { DeliveryService } from './delivery.service';
import { DeliveryStatus } from './delivery-status';

export interface SweepReport {
  claimed: number;
  delivered: number;
  retrying: number;
  awaitingCustomer: number;
  failed: number;
  durationMs: number;
}

const BATCH = 200;
/** Bounded: a run stops after this long even if more is due (the next run continues). */
const MAX_RUN_MS = 60_000;
/** Follow-up sweeps after start-up are at least this far apart. */
const MIN_FOLLOW_UP_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Finds payments that are paid but not delivered and due (a retry whose time came, a dispatch a
 * crash lost, a claim whose worker died) and delivers them. Cost is O(rows due) through the
 * deliveries_due partial index. Any run that did something leaves one RECOVERY_REPORT alert.
 */
export class RecoverySweep {
  constructor(
    private readonly db: Database,
    private readonly delivery: DeliveryService,
    private readonly dispatcher: DeliveryDispatcher,
    private readonly alerts: AlertService,
    private readonly logger: Logger,
  ) {}

  async run(via: 'sweep' | 'startup'): Promise<SweepReport> {
    const started = Date.now();
    const report: SweepReport = { claimed: 0, delivered: 0, retrying: 0, awaitingCustomer: 0, failed: 0, durationMs: 0 };
    while (Date.now() - started < MAX_RUN_MS) {
      const { ids, leaseUntil } = await this.delivery.claimDue(BATCH, via);
      report.claimed += ids.length;
      for (const outcome of await this.dispatcher.runClaimed(ids, via, leaseUntil)) {
        if (outcome.status === DeliveryStatus.DELIVERED) report.delivered++;
        else if (outcome.status === DeliveryStatus.PENDING) report.retrying++;
        else if (outcome.status === DeliveryStatus.AWAITING_CUSTOMER) report.awaitingCustomer++;
        else if (outcome.status === DeliveryStatus.FAILED) report.failed++;
      }
      if (ids.length < BATCH) break;
    }
    report.durationMs = Date.now() - started;
    if (report.claimed > 0) await this.report(via, report);
    if (via === 'startup') void this.sweepLeftovers(new Date(started));
    return report;
  }

  /**
   * A dead process leaves claims that expire a lease later and retries that fall due after their
   * backoff, and the timers that would have run them died with it. The periodic job may not run
   * for a long while (a killed instance can hold its scheduler lock for the lock's lifetime), so
   * after start-up this process sweeps again whenever such a row falls due, until the last could.
   */
  private async sweepLeftovers(startedAt: Date): Promise<void> {
    const horizon = startedAt.getTime() + this.delivery.leftoverHorizonMs();
    try {
      for (;;) {
        const due = await this.delivery.nextDueOwed(startedAt);
        if (!due || due.getTime() > horizon || this.dispatcher.isStopped) return;
        await sleep(Math.max(MIN_FOLLOW_UP_MS, due.getTime() - this.db.clock.now().getTime()));
        if (this.dispatcher.isStopped) return;
        await this.run('sweep');
      }
    } catch (error) {
      this.logger.error({ err: error }, 'follow-up sweep after start-up failed');
    }
  }

  private async report(via: string, r: SweepReport): Promise<void> {
    this.logger.info({ via, ...r }, 'recovery sweep');
    const someFailed = r.failed > 0 || r.retrying > 0;
    const at = this.db.clock.now().toISOString();
    await this.alerts.raiseNow({
      type: AlertType.RECOVERY_REPORT,
      severity: someFailed ? AlertSeverity.HIGH : AlertSeverity.INFO,
      title: `Recovery sweep: ${r.delivered} of ${r.claimed} delivered`,
      detail: `${via} run at ${at}: claimed ${r.claimed}, delivered ${r.delivered}, retrying ${r.retrying}, awaiting customer ${r.awaitingCustomer}, failed ${r.failed}, ${r.durationMs} ms.`,
      subjectType: 'recovery_sweep',
      subjectId: at,
      fingerprint: `RECOVERY_REPORT:${at}`,
    });
  }
}
