import type { Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import type { TestLinkService } from './test-link.service';

const DAY_MS = 86_400_000;
const BATCH = 1000;

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

  private async purgeNeverPaid(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.settings.failedPaymentRetentionDays * DAY_MS);
    const em = this.db.fork();
    const rows: Array<{ id: string }> = await em.execute(
      `select p.id from payments p
        where p.status in ('FAILED', 'EXPIRED', 'CANCELLED') and p.paid_at is null and p.created_at < ?
          and not exists (select 1 from invite_links l where l.payment_id = p.id)
        limit ?`,
      [cutoff, BATCH],
    );
    let purged = 0;
    // One by one: a payment another table still references (a refund, a retry) is kept, not an error for the rest.
    for (const { id } of rows) {
      try {
        await em.execute(`delete from payments where id = ?`, [id]);
        purged++;
      } catch {
        // referenced elsewhere: kept
      }
    }
    return purged;
  }
}
