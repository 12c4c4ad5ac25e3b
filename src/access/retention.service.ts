import type { Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import type { TestLinkService } from './test-link.service';

const DAY_MS = 86_400_000;
const BATCH = 1000;
/** At most this many purge batches per run (hourly): a backlog is worked off over a few runs. */
const MAX_PURGE_BATCHES = 10;

/**
 * Hourly housekeeping: expired links are marked revoked (Telegram already refuses them), test
 * links whose time is up lose their member, and never-paid payments older than the retention
 * period are purged (those with no invite link; rows referenced elsewhere stay).
 */
export class Retention {
  constructor(
    private readonly db: Database,
    private readonly testLinks: TestLinkService,
    private readonly settings: { failedPaymentRetentionDays: number },
    private readonly logger: Logger,
  ) {}

  async run(): Promise<{ linksExpired: number; testLinksRemoved: number; paymentsPurged: number }> {
    const now = this.db.clock.now();
    const em = this.db.fork();
    const expired: unknown[] = await em.execute(
      `update invite_links set revoked_at = ?, updated_at = ? where id in
         (select id from invite_links where revoked_at is null and expires_at < ? limit ?) returning id`,
      [now, now, now, BATCH],
    );
    let testLinksRemoved = 0;
    for (const id of await this.testLinks.dueIds(100)) {
      try {
        if (await this.testLinks.removeAccess(id)) testLinksRemoved++;
      } catch (error) {
        this.logger.warn({ err: error, linkId: id }, 'test link removal failed; retried next run');
      }
    }
    const report = { linksExpired: expired.length, testLinksRemoved, paymentsPurged: await this.purgeNeverPaid(now) };
    this.logger.info(report, 'retention run');
    return report;
  }

  /**
   * Never-paid payments past retention, oldest first, in bounded batches. Payments with money
   * history (an invite link, a refund, a retry job) are not candidates at all, and each batch
   * starts after the last one: rows that must stay can never fill a batch and hold up the rest
   * (a payment some other table references is still kept when its delete is refused).
   */
  private async purgeNeverPaid(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.settings.failedPaymentRetentionDays * DAY_MS);
    const em = this.db.fork();
    let purged = 0;
    let after: { created_at: Date; id: string } | null = null;
    for (let batch = 0; batch < MAX_PURGE_BATCHES; batch++) {
      const rows: Array<{ id: string; created_at: Date }> = await em.execute(
        `select p.id, p.created_at from payments p
          where p.status in ('FAILED', 'EXPIRED', 'CANCELLED') and p.paid_at is null and p.created_at < ?
            and (?::timestamptz is null or (p.created_at, p.id) > (?::timestamptz, ?::uuid))
            and not exists (select 1 from invite_links l where l.payment_id = p.id)
            and not exists (select 1 from refunds r where r.payment_id = p.id)
            and not exists (select 1 from retry_jobs j where j.payment_id = p.id)
          order by p.created_at, p.id
          limit ?`,
        [cutoff, after?.created_at ?? null, after?.created_at ?? null, after?.id ?? null, BATCH],
      );
      // One by one: a payment another table still references is kept, not an error for the rest.
      for (const { id } of rows) {
        try {
          await em.execute(`delete from payments where id = ?`, [id]);
          purged++;
        } catch {
          // referenced elsewhere: kept
        }
      }
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1];
    }
    return purged;
  }
}
