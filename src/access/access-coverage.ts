import type { EntityManager } from '@mikro-orm/postgresql';
import { Channel } from '../catalog/channel.entity';

/**
 * Who else pays for a channel. A Telegram member is a Telegram account, and more than one customer
 * row may name the same account (bought twice under two emails), so a channel stays when any live
 * subscription of the customer, or of another customer with the same Telegram id, covers it.
 */
const COVERED_ELSEWHERE = `exists (
  select 1 from subscriptions s
    join bundle_channels other on other.bundle_id = s.bundle_id
    join customers holder on holder.id = s.customer_id
   where s.status in ('ACTIVE', 'PAST_DUE') and s.id is distinct from ?::uuid and other.channel_id = c.id
     and (s.customer_id = ?::uuid or (?::text is not null and holder.telegram_user_id = ?::text)))`;

export interface Holder {
  customerId: string;
  telegramUserId: string | null;
}

/** The bundle's channels no other live subscription of the holder covers: the ones to leave. */
export async function channelsToLeave(em: EntityManager, subscription: { id: string; bundleId: string }, holder: Holder): Promise<Channel[]> {
  const rows: Array<{ id: string }> = await em.execute(
    `select c.id from channels c join bundle_channels bc on bc.channel_id = c.id
      where bc.bundle_id = ? and not ${COVERED_ELSEWHERE}`,
    [subscription.bundleId, subscription.id, holder.customerId, holder.telegramUserId, holder.telegramUserId],
  );
  return rows.length ? em.find(Channel, { id: { $in: rows.map((r) => r.id) } }) : [];
}

/** Whether a live subscription of the holder covers the channel now (asked again right before a removal). */
export async function channelCovered(em: EntityManager, channelId: string, holder: Holder): Promise<boolean> {
  const rows = await em.execute(
    `select 1 from channels c where c.id = ? and ${COVERED_ELSEWHERE}`,
    [channelId, null, holder.customerId, holder.telegramUserId, holder.telegramUserId],
  );
  return rows.length > 0;
}
