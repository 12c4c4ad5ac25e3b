import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Database } from '../database/transaction';
import type { Logger } from '../shared/logger';
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

/**
 * Finds payments that are paid but not delivered and due (a retry whose time came, a dispatch a
 * crash lost, a claim whose worker died) and delivers them. Cost is O(rows due) through the
 * payments_delivery_due partial index. Any run that did something leaves one RECOVERY_REPORT alert.
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
    return report;
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
