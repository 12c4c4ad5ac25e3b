import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import { Channel } from '../catalog/channel.entity';
import { Customer } from '../customers/customer.entity';
import { systemActor, type Database } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { Topic } from '../platform/shared/topics';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { channelsToLeave } from './access-coverage';
import { InviteLink } from './invite-link.entity';
import { Subscription, SubscriptionStatus } from './subscription.entity';

const actor = systemActor('access-expiry');

/**
 * The expiry job's removal, for subscriptions that lapsed at the end of their period (or whose queued
 * removal, AccessRevocation, gave up): removes the customer from every channel of the bundle that no
 * other live subscription of theirs still covers (ban then unban with only_if_banned, so
 * they can rejoin after buying again) and revokes their open invite links. Telegram is called
 * outside any transaction; the subscription records accessRemovedAt only when every call
 * succeeded, else removalError — the next run repeats the (idempotent) calls.
 */
export class AccessRemoval {
  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly logger: Logger,
  ) {}

  async remove(subscriptionId: string): Promise<'removed' | 'failed'> {
    const em = this.db.fork();
    const subscription = await em.findOneOrFail(Subscription, subscriptionId);
    const customer = await em.findOneOrFail(Customer, subscription.customer.id);
    try {
      const channels = await channelsToLeave(em, { id: subscription.id, bundleId: subscription.bundle.id }, { customerId: customer.id, telegramUserId: customer.telegramUserId });
      if (customer.telegramUserId) {
        for (const channel of channels) {
          await this.telegram.banChatMember(channel.telegramChatId, customer.telegramUserId);
          await this.telegram.unbanChatMember(channel.telegramChatId, customer.telegramUserId);
        }
      }
      const revoked = await this.revokeOpenLinks(em, subscription, channels);
      await this.record(subscriptionId, null, { channels: channels.map((c) => c.id), revokedLinks: revoked });
      return 'removed';
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      this.logger.warn({ subscriptionId, err: message }, 'access removal failed; retried next run');
      await this.record(subscriptionId, message, null);
      return 'failed';
    }
  }

  private async revokeOpenLinks(em: EntityManager, subscription: Subscription, channels: Channel[]): Promise<number> {
    const links = await em.find(InviteLink, {
      revokedAt: null,
      channel: { $in: channels.map((c) => c.id) },
      payment: { customer: subscription.customer.id, bundle: subscription.bundle.id },
    });
    for (const link of links) {
      const channel = channels.find((c) => c.id === link.channel.id)!;
      if (link.expiresAt > this.db.clock.now()) await this.telegram.revokeChatInviteLink(channel.telegramChatId, link.telegramInviteLink);
      await this.db.transaction(async (tx) => {
        const locked = await tx.em.findOneOrFail(InviteLink, link.id);
        locked.revokedAt ??= tx.clock.now();
      });
    }
    return links.length;
  }

  private async record(subscriptionId: string, error: string | null, detail: Record<string, unknown> | null): Promise<void> {
    await this.db.transaction(async (tx) => {
      const subscription = await tx.em.findOneOrFail(Subscription, subscriptionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      // A renewal may have revived it while Telegram was being called: then leave it be.
      if (subscription.status !== SubscriptionStatus.LAPSED) return;
      subscription.removalError = error;
      if (error) return;
      subscription.accessRemovedAt = tx.clock.now();
      recordAudit(tx, actor, { action: 'access.remove', subjectType: 'subscription', subjectId: subscriptionId, after: detail });
      tx.publish(Topic.ACCESS_CHANGED, { customerId: subscription.customer.id, bundleId: subscription.bundle.id, subscriptionId, status: 'REMOVED', at: tx.clock.now() });
    });
  }
}
