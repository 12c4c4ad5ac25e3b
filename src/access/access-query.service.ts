import type { EntityManager } from '@mikro-orm/postgresql';
import { Bundle } from '../catalog/bundle.entity';
import { Customer } from '../customers/customer.entity';
import type { Clock } from '../platform/shared/clock';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { InviteLink } from './invite-link.entity';
import { Subscription } from './subscription.entity';

const DAY_MS = 86_400_000;

export interface ChannelAccessView {
  channelId: string;
  title: string;
  inviteLink: string | null;
  linkStatus: 'NONE' | 'OPEN' | 'USED' | 'EXPIRED' | 'REVOKED';
}

/** Read models for access: what a customer has, and the totals operators watch. */
export class AccessQueries {
  constructor(private readonly clock: Clock) {}

  async customerAccess(em: EntityManager, customerId: string) {
    const customer = isUuid(customerId) ? await em.findOne(Customer, customerId) : null;
    if (!customer) throw AppError.notFound('Customer', customerId);
    const subscriptions = await em.find(Subscription, { customer: customerId }, { orderBy: { currentPeriodEnd: 'desc' } });
    const views = [];
    for (const subscription of subscriptions) {
      const bundle = await em.findOneOrFail(Bundle, subscription.bundle.id, { populate: ['channels'] });
      const links = await em.find(InviteLink, { payment: { customer: customerId, bundle: bundle.id } }, { orderBy: { createdAt: 'desc' } });
      const channels = bundle.channels.getItems().map((channel) => this.channelView(channel.id, channel.title, links.find((l) => l.channel.id === channel.id)));
      views.push({ subscription, bundleName: bundle.name, channels });
    }
    return { customerId, telegramLinked: Boolean(customer.telegramUserId), anonymized: Boolean(customer.anonymizedAt), subscriptions: views };
  }

  async stats(em: EntityManager) {
    const now = this.clock.now();
    const startOfDay = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const [row] = await em.execute<Array<Record<string, string>>>(
      `select
         count(*) filter (where status = 'ACTIVE') as active,
         count(*) filter (where status = 'PAST_DUE') as past_due,
         count(*) filter (where status in ('ACTIVE', 'PAST_DUE') and current_period_end <= ?) as expiring_in_7_days,
         count(*) filter (where status = 'LAPSED' and lapsed_at >= ?) as lapsed_today,
         count(*) filter (where status = 'LAPSED' and access_removed_at is null) as removals_pending,
         count(*) filter (where status = 'LAPSED' and access_removed_at is null and removal_error is not null) as removals_failed
       from subscriptions`,
      [new Date(now.getTime() + 7 * DAY_MS), startOfDay],
    );
    return {
      active: Number(row.active),
      pastDue: Number(row.past_due),
      expiringIn7Days: Number(row.expiring_in_7_days),
      lapsedToday: Number(row.lapsed_today),
      removalsPending: Number(row.removals_pending),
      removalsFailed: Number(row.removals_failed),
    };
  }

  private channelView(channelId: string, title: string, link: InviteLink | undefined): ChannelAccessView {
    if (!link) return { channelId, title, inviteLink: null, linkStatus: 'NONE' };
    const status = link.usedAt ? 'USED' : link.revokedAt ? 'REVOKED' : link.expiresAt <= this.clock.now() ? 'EXPIRED' : 'OPEN';
    return { channelId, title, inviteLink: status === 'OPEN' ? link.telegramInviteLink : null, linkStatus: status };
  }
}
