import type { Channel } from '../catalog/channel.entity';
import type { Database, Tx } from '../platform/database/transaction';
import type { Payment } from '../payments/payment.entity';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { InviteLink } from './invite-link.entity';

/** A stored link this close to expiry is replaced rather than sent. */
const REUSE_MARGIN_MS = 10 * 60_000;

/**
 * Invite links for a payment: one per channel, member limit 1 (or a join-request link for
 * channels that require approval). A link is stored the moment Telegram returns it, before any
 * message goes out, and a later attempt reuses it while it is still valid.
 */
export class InviteLinkService {
  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly ttlHours: number,
  ) {}

  async ensureLinks(payment: Payment, channels: Channel[]): Promise<Array<{ link: InviteLink; channel: Channel }>> {
    const now = this.db.clock.now();
    const em = this.db.fork();
    const stored = await em.find(InviteLink, { payment: payment.id, revokedAt: null });
    const result: Array<{ link: InviteLink; channel: Channel }> = [];
    for (const channel of channels) {
      const existing = stored.find((l) => l.channel.id === channel.id);
      if (existing && !existing.usedAt && existing.expiresAt.getTime() - now.getTime() > REUSE_MARGIN_MS) {
        result.push({ link: existing, channel });
        continue;
      }
      result.push({ link: await this.mint(payment, channel, existing ?? null), channel });
    }
    return result;
  }

  private async mint(payment: Payment, channel: Channel, replaces: InviteLink | null): Promise<InviteLink> {
    const expiresAt = new Date(this.db.clock.now().getTime() + this.ttlHours * 3_600_000);
    const name = `recoup ${payment.id.slice(0, 8)}`;
    const created = await this.telegram.createChatInviteLink({
      chatId: channel.telegramChatId,
      name,
      expireDate: expiresAt,
      memberLimit: 1,
      createsJoinRequest: channel.requiresApproval,
    });
    return this.db.transaction(async (tx) => {
      if (replaces) {
        const old = await tx.em.findOneOrFail(InviteLink, replaces.id);
        old.revokedAt = tx.clock.now();
        // The live-link unique index needs the old row revoked before the new one is inserted.
        await tx.em.flush();
      }
      const link = tx.em.create(InviteLink, {
        payment: payment.id,
        channel: channel.id,
        telegramInviteLink: created.invite_link,
        name,
        memberLimit: channel.requiresApproval ? 0 : 1,
        createsJoinRequest: channel.requiresApproval,
        expiresAt,
      });
      tx.em.persist(link);
      return link;
    });
  }
}

/**
 * Erasure hook: invite links keep which payment and channel they served, not who used them: the
 * customer's own links, and any link (a test link, a friend's) their Telegram account used.
 */
export async function forgetInviteLinkUsers(tx: Tx, subject: { customerId: string; telegramUserId: string | null }): Promise<void> {
  await tx.em.execute(
    `update invite_links set used_by_telegram_user_id = null
      where used_by_telegram_user_id is not null
        and (payment_id in (select id from payments where customer_id = ?) or used_by_telegram_user_id = ?)`,
    [subject.customerId, subject.telegramUserId ?? ''],
  );
}
