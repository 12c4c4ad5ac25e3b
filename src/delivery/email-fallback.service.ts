import nodemailer, { type Transporter } from 'nodemailer';
import { InviteLink } from '../access/invite-link.entity';
import { Channel } from '../catalog/channel.entity';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import type { Database } from '../platform/database/transaction';
import { Payment } from '../payments/payment.entity';
import type { Logger } from '../platform/observability/logger';

const BATCH = 50;
const CLAIM_MS = 5 * 60_000;

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
    const rows: Array<{ id: string }> = await this.db.fork().execute(
      `update deliveries set email_claimed_at = ? where payment_id in (
         select d.payment_id from deliveries d join payments p on p.id = d.payment_id join customers c on c.id = p.customer_id
          where d.emailed_at is null and d.access_revoked_at is null and c.email is not null
            and (d.email_claimed_at is null or d.email_claimed_at < ?)
            and ((d.status = 'AWAITING_CUSTOMER' and d.last_attempt_at <= ?)
                 or (d.status = 'FAILED' and d.failure_reason ilike '%blocked%'))
          limit ? for update of d skip locked)
       returning payment_id as id`,
      [now, new Date(now.getTime() - CLAIM_MS), new Date(now.getTime() - this.settings.graceMs), BATCH],
    );
    return rows.map((r) => r.id);
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
