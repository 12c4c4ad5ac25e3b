import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Tx } from '../platform/database/transaction';
import { isUuid } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Subscription, SubscriptionStatus } from './subscription.entity';

const RUNNING = [SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE];

/**
 * What dunning (src/retries/) may do to a subscription: read it, lock one that is due for renewal,
 * mark it PAST_DUE while its renewal charge is retried, and lapse it when the retries are spent.
 * Removal from the channels then follows through the access expiry run.
 */
export class SubscriptionDunning {
  async findMany(em: EntityManager, ids: string[]): Promise<Map<string, Subscription>> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Map();
    return new Map((await em.find(Subscription, { id: { $in: valid } })).map((s) => [s.id, s]));
  }

  /** Locks a subscription still due for renewal at `now`; null when it is not (or another worker has it). */
  async lockDue(tx: Tx, id: string): Promise<Subscription | null> {
    const subscription = await tx.em.findOne(Subscription, id, { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE });
    const due = subscription && subscription.status === SubscriptionStatus.ACTIVE && subscription.autoRenew && !subscription.isTest;
    return due && subscription.currentPeriodEnd <= tx.clock.now() ? subscription : null;
  }

  async markPastDue(tx: Tx, actor: Actor, id: string, reason: string): Promise<void> {
    await this.move(tx, actor, id, SubscriptionStatus.PAST_DUE, [SubscriptionStatus.ACTIVE], reason);
  }

  async lapse(tx: Tx, actor: Actor, id: string, reason: string): Promise<void> {
    await this.move(tx, actor, id, SubscriptionStatus.LAPSED, RUNNING, reason);
  }

  private async move(tx: Tx, actor: Actor, id: string, to: SubscriptionStatus, from: SubscriptionStatus[], reason: string): Promise<void> {
    const subscription = await tx.em.findOne(Subscription, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!subscription || !from.includes(subscription.status)) return;
    const before = subscription.status;
    const now = tx.clock.now();
    subscription.status = to;
    if (to === SubscriptionStatus.LAPSED) subscription.lapsedAt = now;
    recordAudit(tx, actor, {
      action: to === SubscriptionStatus.LAPSED ? 'subscription.lapse' : 'subscription.past_due',
      subjectType: 'subscription',
      subjectId: subscription.id,
      before: { status: before },
      after: { status: to },
      note: reason,
    });
    tx.publish(Topic.ACCESS_CHANGED, { customerId: subscription.customer.id, bundleId: subscription.bundle.id, subscriptionId: subscription.id, status: to, at: now });
  }
}
