import { recordAudit } from '../audit/audit.service';
import { Channel } from '../catalog/channel.entity';
import type { Actor, Database } from '../platform/database/transaction';
import type { Scheduler } from '../platform/jobs/scheduler';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { InviteLink } from './invite-link.entity';

export const TEST_LINK_REMOVAL_JOB = 'access:remove-test-link';
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/** "90s", "1m", "2m", "1h" → ms; between 30 seconds and 24 hours. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,5})(s|m|h)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2]] : NaN;
  if (!(ms >= 30_000 && ms <= 86_400_000)) throw AppError.badInput('expiresIn must look like 90s, 2m or 1h, between 30s and 24h', { expiresIn: text });
  return ms;
}

/**
 * Operators' test links: a real single-use invite link whose member is removed again when it
 * ends. The removal is its own one-off job at that second; the hourly retention run catches any
 * whose timer was lost.
 */
export class TestLinkService {
  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
  ) {}

  async create(actor: Actor, channelId: string, expiresIn: string): Promise<InviteLink> {
    const ms = parseDuration(expiresIn);
    const channel = isUuid(channelId) ? await this.db.fork().findOne(Channel, channelId) : null;
    if (!channel) throw AppError.notFound('Channel', channelId);
    const endsAt = new Date(this.db.clock.now().getTime() + ms);
    const created = await this.telegram.createChatInviteLink({ chatId: channel.telegramChatId, name: `recoup test ${expiresIn}`, expireDate: endsAt, memberLimit: 1 });
    const link = await this.db.transaction(async (tx) => {
      const row = tx.em.create(InviteLink, { channel: channel.id, telegramInviteLink: created.invite_link, name: `recoup test ${expiresIn}`, expiresAt: endsAt, isTest: true, accessEndsAt: endsAt });
      tx.em.persist(row);
      recordAudit(tx, actor, { action: 'access.test_link.create', subjectType: 'invite_link', subjectId: row.id, after: { channelId, accessEndsAt: endsAt.toISOString() } });
      return row;
    });
    await this.scheduler.schedule(TEST_LINK_REMOVAL_JOB, endsAt, { linkId: link.id }).catch((error: unknown) => this.logger.warn({ err: error }, 'could not schedule test-link removal; retention will catch it'));
    return link;
  }

  /** Removes whoever joined through the link and revokes it. Safe to run twice. */
  async removeAccess(linkId: string): Promise<boolean> {
    const em = this.db.fork();
    const link = await em.findOne(InviteLink, { id: linkId, isTest: true, accessRemovedAt: null }, { populate: ['channel'] });
    if (!link || (link.accessEndsAt && link.accessEndsAt > this.db.clock.now())) return false;
    const chatId = link.channel.getEntity().telegramChatId;
    if (link.usedByTelegramUserId) {
      await this.telegram.banChatMember(chatId, link.usedByTelegramUserId);
      await this.telegram.unbanChatMember(chatId, link.usedByTelegramUserId);
    }
    if (!link.revokedAt) await this.telegram.revokeChatInviteLink(chatId, link.telegramInviteLink).catch(() => undefined);
    await this.db.transaction(async (tx) => {
      const row = await tx.em.findOneOrFail(InviteLink, linkId);
      row.revokedAt ??= tx.clock.now();
      row.accessRemovedAt = tx.clock.now();
    });
    return true;
  }

  async dueIds(limit: number): Promise<string[]> {
    const rows = await this.db.fork().find(InviteLink, { isTest: true, accessRemovedAt: null, accessEndsAt: { $lte: this.db.clock.now() } }, { limit, fields: ['id'] });
    return rows.map((r) => r.id);
  }
}
