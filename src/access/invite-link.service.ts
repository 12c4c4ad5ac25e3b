import type { EntityManager } from '@mikro-orm/postgresql';
import type { Database, Tx } from '../platform/database/transaction';
import { newId } from '../platform/shared/ids';
import type { TelegramClient } from '../integrations/telegram/telegram.client';

/** The channel a link is for. */
export interface LinkChannel {
  id: string;
  telegramChatId: string;
  requiresApproval: boolean;
}

/** A live link already stored for the payment. */
export interface StoredLinkRow {
  id: string;
  channelId: string;
  url: string;
  expiresAt: Date;
  usedAt: Date | null;
}

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

  /**
   * The payment's link for each channel: a stored one while it is unused and not about to expire,
   * else a new one from Telegram, stored at once (replacing the old one). `stored`: the payment's
   * live links, as the attempt read them.
   */
  async ensureLinksFor<C extends LinkChannel>(paymentId: string, channels: C[], stored: StoredLinkRow[]): Promise<Array<{ url: string; expiresAt: Date; channel: C }>> {
    const now = this.db.clock.now();
    const result: Array<{ url: string; expiresAt: Date; channel: C }> = [];
    for (const channel of channels) {
      const existing = stored.find((l) => l.channelId === channel.id);
      if (existing && !existing.usedAt && existing.expiresAt.getTime() - now.getTime() > REUSE_MARGIN_MS) {
        result.push({ url: existing.url, expiresAt: existing.expiresAt, channel });
        continue;
      }
      result.push({ ...(await this.mint(paymentId, channel, existing?.id ?? null)), channel });
    }
    return result;
  }

  private async mint(paymentId: string, channel: LinkChannel, replaces: string | null): Promise<{ url: string; expiresAt: Date }> {
    const expiresAt = new Date(this.db.clock.now().getTime() + this.ttlHours * 3_600_000);
    const name = `recoup ${paymentId.slice(0, 8)}`;
    const created = await this.telegram.createChatInviteLink({
      chatId: channel.telegramChatId,
      name,
      expireDate: expiresAt,
      memberLimit: 1,
      createsJoinRequest: channel.requiresApproval,
    });
    const insert = (em: Pick<EntityManager, 'execute'>, written: Date) =>
      em.execute(
        `insert into invite_links (id, created_at, updated_at, payment_id, channel_id, telegram_invite_link, name, member_limit, creates_join_request, expires_at, is_test)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)`,
        [newId(), written, written, paymentId, channel.id, created.invite_link, name, channel.requiresApproval ? 0 : 1, channel.requiresApproval, expiresAt],
      );
    // Stored the moment Telegram returned it, in one statement (the usual case: no link yet).
    if (!replaces) await insert(this.db.fork(), new Date());
    else {
      await this.db.transaction(async (tx) => {
        // The live-link unique index needs the old row revoked before the new one is inserted.
        await tx.em.execute(`update invite_links set revoked_at = ?, updated_at = ? where id = ?`, [tx.clock.now(), new Date(), replaces]);
        await insert(tx.em, new Date());
      });
    }
    return { url: created.invite_link, expiresAt };
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
