import { LockMode } from '@mikro-orm/core';
import { recordAudit } from '../audit/audit.service';
import { Channel } from '../catalog/channel.entity';
import { Customer } from '../customers/customer.entity';
import type { CustomerService } from '../customers/customer.service';
import { systemActor, type Tx } from '../platform/database/transaction';
import { Payment } from '../payments/payment.entity';
import type { TelegramUpdate } from '../integrations/telegram/telegram-update';
import { InviteLink } from './invite-link.entity';
import { Subscription, SubscriptionStatus } from './subscription.entity';
import type { TelegramOutbox } from './telegram-outbox.service';

type MemberUpdate = NonNullable<TelegramUpdate['chat_member']>;
type JoinRequest = NonNullable<TelegramUpdate['chat_join_request']>;

const actor = systemActor('telegram-joins');
const OUTSIDE = ['left', 'kicked'];

/** A member update that is someone arriving: from outside the chat to inside it. */
function isJoin(update: MemberUpdate): boolean {
  const now = update.new_chat_member;
  const inside = now.status === 'member' || (now.status === 'restricted' && now.is_member === true);
  return OUTSIDE.includes(update.old_chat_member.status) && inside;
}

/**
 * Joins and join requests. A join through one of our links marks the link used and revokes it:
 * member_limit counts current members, not uses, so a link frees up again when its user leaves
 * (https://core.telegram.org/bots/api#createchatinvitelink). A join request is approved only for a
 * requester whose subscription covers the channel. Telegram calls go through the outbox.
 */
export class JoinService {
  constructor(
    private readonly customers: CustomerService,
    private readonly outbox: TelegramOutbox,
  ) {}

  async handleMember(tx: Tx, update: MemberUpdate): Promise<string> {
    if (!isJoin(update)) return 'ignored: not a join';
    if (!update.invite_link?.invite_link) return 'ignored: joined without an invite link';
    const link = await tx.em.findOne(InviteLink, { telegramInviteLink: update.invite_link.invite_link }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const channel = link ? await tx.em.findOneOrFail(Channel, link.channel.id) : null;
    if (!link || !channel || channel.telegramChatId !== String(update.chat.id)) return 'ignored: not one of our links';
    if (link.usedAt) return 'skipped: link already marked used';
    const joiner = String(update.new_chat_member.user.id);
    link.usedAt = tx.clock.now();
    link.usedByTelegramUserId = joiner;
    recordAudit(tx, actor, {
      action: 'invite_link.used',
      subjectType: 'invite_link',
      subjectId: link.id,
      after: { paymentId: link.payment?.id ?? null, channelId: channel.id, joinerIsCustomer: await this.joinerIsCustomer(tx, link, joiner) },
    });
    if (!link.revokedAt) this.outbox.enqueue(tx, 'revokeInviteLink', { chatId: channel.telegramChatId, inviteLink: link.telegramInviteLink, linkId: link.id });
    return 'applied: link marked used; revoke queued';
  }

  /** Whether the payer's own account joined (null for a test link, which has no payer). */
  private async joinerIsCustomer(tx: Tx, link: InviteLink, joiner: string): Promise<boolean | null> {
    if (!link.payment) return null;
    const payment = await tx.em.findOneOrFail(Payment, link.payment.id);
    const customer = await tx.em.findOneOrFail(Customer, payment.customer.id);
    return customer.telegramUserId === joiner;
  }

  async handleJoinRequest(tx: Tx, request: JoinRequest): Promise<string> {
    const channel = await tx.em.findOne(Channel, { telegramChatId: String(request.chat.id) });
    if (!channel) return 'ignored: not one of our channels';
    const telegramUserId = String(request.from.id);
    const customers = await this.customers.findByTelegramUserId(tx.em, telegramUserId);
    const subscription = customers.length === 0 ? null : await tx.em.findOne(Subscription, {
      customer: { $in: customers.map((c) => c.id) },
      status: { $in: [SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE] },
      bundle: { channels: channel.id },
    });
    const approve = subscription !== null;
    const reason = approve ? `subscription ${subscription.status.toLowerCase()}` : customers.length === 0 ? 'no customer is bound to this Telegram account' : 'no active subscription covers this channel';
    this.outbox.enqueue(tx, approve ? 'approveJoinRequest' : 'declineJoinRequest', { chatId: channel.telegramChatId, userId: telegramUserId, channelId: channel.id });
    recordAudit(tx, actor, {
      action: approve ? 'join_request.approve' : 'join_request.decline',
      subjectType: 'channel',
      subjectId: channel.id,
      // A known customer is named by id, so erasing their personal data leaves nothing here.
      after: customers.length > 0 ? { customerIds: customers.map((c) => c.id), subscriptionId: subscription?.id ?? null } : { telegramUserId },
      note: reason,
    });
    return `applied: join request ${approve ? 'approved' : 'declined'} (${reason})`;
  }
}
