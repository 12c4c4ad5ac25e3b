import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import { Customer } from '../customers/customer.entity';
import type { Payment } from '../payments/payment.entity';
import { systemActor, type Tx } from '../platform/database/transaction';
import { Topic } from '../platform/shared/topics';
import { channelCovered, channelsToLeave } from './access-coverage';
import { Subscription, SubscriptionStatus } from './subscription.entity';
import type { OutboxOutcome, OwedCall, TelegramOutbox } from './telegram-outbox.service';

const actor = systemActor('access-revocation');

interface OpenLink {
  id: string;
  telegram_invite_link: string;
  telegram_chat_id: string;
  expires_at: Date;
}

/**
 * Access follows money at once: when a payment stops paying for a subscription (a full refund, a
 * dispute, a released authorization), the removal is queued in the Telegram outbox in that same
 * transaction, so it is made right after commit and retried with backoff, never lost to a crash.
 * Each owed call names the subscription and the lapse it serves (`lapsedAt`); the expiry job leaves
 * a subscription alone while such calls are owed, and the last one to settle records
 * accessRemovedAt, so the two paths never both act. A call given up on leaves removalError, and
 * the expiry job then does the removal itself.
 */
export class AccessRevocation {
  constructor(private readonly outbox: TelegramOutbox) {
    outbox.guard('removeChatMember', (em, params) => this.noLongerOwed(em, params));
    outbox.onSettled((tx, call, outcome) => this.settled(tx, call, outcome));
  }

  /** Called in the transaction that lapsed the subscription (SubscriptionService.onAccessEnded). */
  async revokeNow(tx: Tx, subscription: Subscription, payment: Payment, reason: string): Promise<void> {
    const customer = await tx.em.findOneOrFail(Customer, subscription.customer.id);
    const channels = await channelsToLeave(tx.em, { id: subscription.id, bundleId: subscription.bundle.id }, { customerId: customer.id, telegramUserId: customer.telegramUserId });
    const links = await this.openLinks(tx.em, subscription, payment, channels.map((c) => c.id));
    const now = tx.clock.now();
    const owedBy = { subscriptionId: subscription.id, lapsedAt: subscription.lapsedAt!.toISOString() };
    const removals = customer.telegramUserId ? channels : [];
    for (const channel of removals) {
      this.outbox.enqueue(tx, 'removeChatMember', { chatId: channel.telegramChatId, userId: customer.telegramUserId!, channelId: channel.id, customerId: customer.id, ...owedBy });
    }
    // A link past its expiry is dead at Telegram already: recorded revoked without a call.
    const live = links.filter((l) => new Date(l.expires_at) > now);
    for (const link of live) this.outbox.enqueue(tx, 'revokeInviteLink', { chatId: link.telegram_chat_id, inviteLink: link.telegram_invite_link, linkId: link.id, ...owedBy });
    const expired = links.filter((l) => !live.includes(l)).map((l) => l.id);
    if (expired.length) await tx.em.execute(`update invite_links set revoked_at = ?, updated_at = ? where id = any(?::uuid[]) and revoked_at is null`, [now, now, `{${expired.join(',')}}`]);
    subscription.removalError = null;
    recordAudit(tx, actor, {
      action: 'access.revoke',
      subjectType: 'payment',
      subjectId: payment.id,
      after: { subscriptionId: subscription.id, channelIds: removals.map((c) => c.id), inviteLinkIds: links.map((l) => l.id), queuedCalls: removals.length + live.length },
      note: reason,
    });
    if (removals.length + live.length === 0) this.markRemoved(tx, subscription, 'nothing owed at Telegram');
  }

  /**
   * The payment's own open links, and the customer's open links to this bundle in the channels
   * they leave; a link whose revoke is already owed (a join's) is not queued twice.
   */
  private openLinks(em: EntityManager, subscription: Subscription, payment: Payment, channelIds: string[]): Promise<OpenLink[]> {
    return em.execute(
      `select l.id, l.telegram_invite_link, l.expires_at, c.telegram_chat_id
         from invite_links l join channels c on c.id = l.channel_id join payments p on p.id = l.payment_id
        where l.revoked_at is null
          and (l.payment_id = ? or (p.customer_id = ? and p.bundle_id = ? and l.channel_id = any(?::uuid[])))
          and not exists (select 1 from telegram_outbox o where o.kind = 'revokeInviteLink' and o.params ->> 'linkId' = l.id::text)
        order by l.created_at, l.id`,
      [payment.id, subscription.customer.id, subscription.bundle.id, `{${channelIds.join(',')}}`],
    );
  }

  /** Asked right before the removal: someone who has paid for the channel again since stays. */
  private async noLongerOwed(em: EntityManager, params: Record<string, string>): Promise<string | null> {
    const covered = await channelCovered(em, params.channelId, { customerId: params.customerId, telegramUserId: params.userId });
    return covered ? 'a live subscription covers the channel again' : null;
  }

  /**
   * Locks the subscription before counting what is still owed, so of two calls settling at once
   * the second waits and sees the first one gone: exactly one records the removal.
   */
  private async settled(tx: Tx, call: OwedCall, outcome: OutboxOutcome): Promise<void> {
    const { subscriptionId, lapsedAt } = call.params;
    if (!subscriptionId) return;
    const subscription = await tx.em.findOne(Subscription, subscriptionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    // Renewed since (or lapsed again later): this lapse's removal no longer decides anything.
    if (!subscription || subscription.status !== SubscriptionStatus.LAPSED || subscription.lapsedAt?.toISOString() !== lapsedAt || subscription.accessRemovedAt) return;
    if (outcome.kind === 'gave-up') {
      subscription.removalError = `${call.kind} gave up: ${outcome.error}`.slice(0, 1000);
      return;
    }
    const [{ n }]: Array<{ n: number }> = await tx.em.execute(`select count(*)::int as n from telegram_outbox where params ->> 'subscriptionId' = ?`, [subscriptionId]);
    if (n === 0 && !subscription.removalError) this.markRemoved(tx, subscription, 'queued removal done');
  }

  private markRemoved(tx: Tx, subscription: Subscription, note: string): void {
    const now = tx.clock.now();
    subscription.accessRemovedAt = now;
    recordAudit(tx, actor, { action: 'access.remove', subjectType: 'subscription', subjectId: subscription.id, after: { accessRemovedAt: now.toISOString() }, note });
    tx.publish(Topic.ACCESS_CHANGED, { customerId: subscription.customer.id, bundleId: subscription.bundle.id, subscriptionId: subscription.id, status: 'REMOVED', at: now });
  }
}
