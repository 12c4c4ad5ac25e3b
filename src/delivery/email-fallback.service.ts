import nodemailer, { type Transporter } from 'nodemailer';
import { InviteLink } from '../access/invite-link.entity';
import { Channel } from '../catalog/channel.entity';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import type { Database } from '../platform/database/transaction';
import { LeaseQueue } from '../platform/jobs/lease-queue';
import { Payment } from '../payments/payment.entity';
import type { Logger } from '../platform/observability/logger';

const BATCH = 50;
const CLAIM_MS = 5 * 60_000;

/**
 * email_claimed_at holds the claim's lease end: a row is claimable when it was never claimed or
 * its lease ran out (a send that crashed or failed goes again then, never sooner). Never-claimed
 * rows first.
 */
const EMAIL_QUEUE = new LeaseQueue<{ payment_id: string }>({
  table: 'deliveries',
  from: 'deliveries d join payments p on p.id = d.payment_id join customers c on c.id = p.customer_id',
  alias: 'd',
  idColumn: 'payment_id',
  dueColumn: 'email_claimed_at',
  dueWhenNull: true,
  order: 'd.email_claimed_at nulls first',
  attemptsColumn: null,
  ready: 'd.emailed_at is null and d.access_revoked_at is null and c.email is not null',
  leaseMs: CLAIM_MS,
  // No planned retries: a failed email is due again when its claim ends.
  backoff: { baseMs: CLAIM_MS, capMs: CLAIM_MS, jitter: 0 },
});

/**
 * When Telegram cannot reach a paid customer (they blocked the bot, or have not started it within
 * the grace period) and we have their email, the links go by email. A claim (lease) before the
 * send and a stamp after it: a crash in between sends again after the lease, rather than never.
 */
export class EmailFallback {
  private readonly transport: Transporter | null;

  constructor(
    private readonly db: Database,
    private readonly settings: { smtpUrl?: string; from: string; graceMs: number },
    private readonly logger: Logger,
    private readonly deepLinkFor: (customerId: string) => Promise<string | null> = async () => null,
  ) {
    this.transport = settings.smtpUrl ? nodemailer.createTransport(settings.smtpUrl) : null;
  }

  get enabled(): boolean {
    return this.transport !== null;
  }

  async run(): Promise<{ emailed: number; failed: number }> {
    if (!this.transport) return { emailed: 0, failed: 0 };
    let emailed = 0;
    let failed = 0;
    for (const id of await this.claim()) {
      try {
        await this.send(id);
        emailed++;
      } catch (error) {
        failed++;
        this.logger.warn({ err: (error as Error).message, paymentId: id }, 'email fallback failed; retried after the claim expires');
      }
    }
    return { emailed, failed };
  }

  private async claim(): Promise<string[]> {
    const now = this.db.clock.now();
    const rows = (await EMAIL_QUEUE.claim(this.db.fork(), {
      now,
      limit: BATCH,
      where: `(d.status = 'AWAITING_CUSTOMER' and d.last_attempt_at <= ?) or (d.status = 'FAILED' and d.failure_reason ilike '%blocked%')`,
      params: [new Date(now.getTime() - this.settings.graceMs)],
    }));
    return rows.map((row) => row.payment_id);
  }

  private async send(paymentId: string): Promise<void> {
    const em = this.db.fork();
    const payment = await em.findOneOrFail(Payment, paymentId);
    const [customer, plan] = await Promise.all([em.findOneOrFail(Customer, payment.customer.id), em.findOneOrFail(Plan, payment.plan.id)]);
    const links = await em.find(InviteLink, { payment: paymentId, revokedAt: null }, { populate: ['channel'] });
    const deepLink = await this.deepLinkFor(customer.id);
    const lines = [
      `Hello${customer.name ? ` ${customer.name}` : ''},`,
      '',
      `Your payment for ${plan.name} went through, but we could not reach you on Telegram.`,
      'Your personal invite links (each admits one person, you):',
      ...links.map((l) => `- ${(l.channel.getEntity() as Channel).title}: ${l.telegramInviteLink} (valid until ${l.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)`),
      ...(deepLink ? ['', `Start our bot to receive updates and fresh links: ${deepLink}`] : []),
    ];
    await this.transport!.sendMail({ from: this.settings.from, to: customer.email!, subject: `Your access to ${plan.name}`, text: lines.join('\n') });
    await this.db.fork().execute(`update deliveries set emailed_at = ?, updated_at = ? where payment_id = ?`, [this.db.clock.now(), this.db.clock.now(), paymentId]);
    this.logger.info({ paymentId }, 'links emailed');
  }
}
