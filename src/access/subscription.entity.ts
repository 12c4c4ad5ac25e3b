import { Entity, Enum, Index, ManyToOne, OptionalProps, Property, Unique, type Opt, type Ref } from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Bundle } from '../catalog/bundle.entity';
import { Customer } from '../customers/customer.entity';
import { BaseEntity } from '../platform/database/base.entity';

export enum SubscriptionStatus {
  ACTIVE = 'ACTIVE',
  /** The renewal charge failed and is being retried; access continues until the period ends. */
  PAST_DUE = 'PAST_DUE',
  LAPSED = 'LAPSED',
}
registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus' });

/**
 * A customer's access to a bundle for a period. Created or extended when a payment for the bundle
 * is paid. A lapsed subscription is worked off by the expiry job: removal from channels, then
 * deletion of personal data once nothing else remains (accessRemovedAt marks the first step done).
 */
// 'Subscription' is GraphQL's root type for live operations, hence the longer name.
@ObjectType('CustomerSubscription')
@Entity({ tableName: 'subscriptions' })
@Unique({ properties: ['customer', 'bundle'] })
@Index({ name: 'subscriptions_active_by_end', expression: `create index "subscriptions_active_by_end" on "subscriptions" ("current_period_end") where "status" in ('ACTIVE', 'PAST_DUE')` })
@Index({ name: 'subscriptions_lapsed_pending_removal', expression: `create index "subscriptions_lapsed_pending_removal" on "subscriptions" ("lapsed_at") where "status" = 'LAPSED' and "access_removed_at" is null` })
export class Subscription extends BaseEntity {
  [OptionalProps]?: 'customerId' | 'bundleId';

  @ManyToOne({ entity: () => Customer, ref: true })
  customer!: Ref<Customer>;

  @ManyToOne({ entity: () => Bundle, ref: true })
  bundle!: Ref<Bundle>;

  @Field(() => SubscriptionStatus)
  @Enum({ items: () => SubscriptionStatus, default: SubscriptionStatus.ACTIVE })
  status: SubscriptionStatus & Opt = SubscriptionStatus.ACTIVE;

  @Field()
  @Property({ type: 'timestamptz' })
  currentPeriodStart!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  currentPeriodEnd!: Date;

  @Field(() => Boolean)
  @Property({ type: 'boolean', default: false })
  autoRenew: boolean & Opt = false;

  /** Stripe customer and payment method saved at checkout, used for off-session renewals. */
  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripeCustomerId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripePaymentMethodId: string | null = null;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  lastPaymentId: string | null = null;

  @Field(() => Boolean, { description: 'Created by createTestInviteLink; removed on its own timer.' })
  @Property({ type: 'boolean', default: false })
  isTest: boolean & Opt = false;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  lapsedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  accessRemovedAt: Date | null = null;

  @Field(() => String, { nullable: true, description: 'Why the last removal attempt failed (retried next run).' })
  @Property({ type: 'text', nullable: true })
  removalError: string | null = null;

  @Field(() => ID)
  get customerId(): string {
    return this.customer.id;
  }

  @Field(() => ID)
  get bundleId(): string {
    return this.bundle.id;
  }
}
