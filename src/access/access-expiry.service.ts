import { recordAudit } from '../audit/audit.service';
import type { PersonalDataService } from '../customers/personal-data.service';
import { systemActor, type Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { Topic } from '../platform/shared/topics';
import type { AccessRemoval } from './access-removal.service';

export interface ExpiryReport {
  lapsed: number;
  removed: number;
  removalFailed: number;
  erased: number;
  durationMs: number;
}

const actor = systemActor('access-expiry');
/** Bounded: a run stops after this long (well inside the scheduler's 10-minute lock); the next continues. */
const MAX_RUN_MS = 5 * 60_000;

/**
 * The nightly access run, in three bounded steps, each found through a partial index:
 * lapse subscriptions whose period ended, remove lapsed ones from their channels, and erase the
 * personal data of customers with nothing left.
 */
export class AccessExpiry {
  constructor(
    private readonly db: Database,
    private readonly removal: AccessRemoval,
    private readonly personalData: PersonalDataService,
    private readonly settings: { batchSize: number; renewalGraceMs: number },
    private readonly logger: Logger,
  ) {}

  async run(): Promise<ExpiryReport> {
    const started = Date.now();
    const report: ExpiryReport = { lapsed: 0, removed: 0, removalFailed: 0, erased: 0, durationMs: 0 };
    report.lapsed = await this.lapseEnded();
    const tried = new Set<string>();
    while (Date.now() - started < MAX_RUN_MS) {
      const ids = (await this.awaitingRemoval()).filter((id) => !tried.has(id));
      if (ids.length === 0) break;
      for (const id of ids) {
        tried.add(id);
        if ((await this.removal.remove(id)) === 'removed') report.removed++;
        else report.removalFailed++;
      }
    }
    // Bounded batches until none is left or the run's time is up, like the removals above.
    for (let erased = -1; erased !== 0 && Date.now() - started < MAX_RUN_MS; ) {
      erased = await this.eraseForgotten();
      report.erased += erased;
    }
    report.durationMs = Date.now() - started;
    this.logger.info(report, 'access expiry run');
    return report;
  }

  /** Auto-renewing subscriptions get a grace period for their renewal charge (dunning) before they lapse. */
  async lapseEnded(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const now = tx.clock.now();
      const rows: Array<{ id: string; customer_id: string; bundle_id: string }> = await tx.em.execute(
        `update subscriptions set status = 'LAPSED', lapsed_at = ?, updated_at = ?
          where id in (select id from subscriptions
                        where status in ('ACTIVE', 'PAST_DUE') and current_period_end <= ?
                          and (auto_renew = false or current_period_end <= ?)
                        order by current_period_end limit ? for update skip locked)
          returning id, customer_id, bundle_id`,
        [now, now, now, new Date(now.getTime() - this.settings.renewalGraceMs), this.settings.batchSize * 10],
      );
      for (const row of rows) {
        recordAudit(tx, actor, { action: 'subscription.lapse', subjectType: 'subscription', subjectId: row.id, after: { status: 'LAPSED' } });
        tx.publish(Topic.ACCESS_CHANGED, { customerId: row.customer_id, bundleId: row.bundle_id, subscriptionId: row.id, status: 'LAPSED', at: now });
      }
      return rows.length;
    });
  }

  /** Not while removal calls are owed in the Telegram outbox (AccessRevocation): those record it themselves. */
  private async awaitingRemoval(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.db.fork().execute(
      `select s.id from subscriptions s where s.status = 'LAPSED' and s.access_removed_at is null
          and not exists (select 1 from telegram_outbox o where o.params ->> 'subscriptionId' = s.id::text)
        order by s.lapsed_at limit ?`,
      [this.settings.batchSize],
    );
    return rows.map((r) => r.id);
  }

  /** Customers whose every subscription lapsed and was removed, with no payment still open or owed. */
  private async eraseForgotten(): Promise<number> {
    const rows: Array<{ id: string }> = await this.db.fork().execute(
      `select c.id from customers c
        where c.anonymized_at is null
          and exists (select 1 from subscriptions s where s.customer_id = c.id)
          and not exists (select 1 from subscriptions s where s.customer_id = c.id and (s.status <> 'LAPSED' or s.access_removed_at is null))
          and not exists (select 1 from payments p where p.customer_id = c.id and (p.status in ('PENDING', 'FAILED', 'AUTHORIZED') or p.refund_requested_at is not null))
        limit ?`,
      [this.settings.batchSize],
    );
    let erased = 0;
    for (const { id } of rows) {
      if (await this.db.transaction((tx) => this.personalData.erase(tx, id))) erased++;
    }
    return erased;
  }
}
