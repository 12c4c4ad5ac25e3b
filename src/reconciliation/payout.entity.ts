import { Entity, Index, Property } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';

/**
 * A Stripe payout as we last saw it (webhook or nightly reconciliation). Kept so failed and
 * cancelled payouts can be listed and a status change noticed; Stripe stays the source of truth.
 */
@ObjectType()
@Entity({ tableName: 'payouts' })
@Index({ name: 'payouts_failed', expression: `create index "payouts_failed" on "payouts" ("stripe_created_at") where "status" = 'failed'` })
export class Payout extends BaseEntity {
  @Field()
  @Property({ type: 'text', unique: true })
  stripePayoutId!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  amountMinor!: number;

  @Field()
  @Property({ type: 'varchar', length: 3 })
  currency!: string;

  @Field({ description: "Stripe's status: paid, pending, in_transit, canceled, failed." })
  @Property({ type: 'text' })
  status!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  failureCode: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  failureMessage: string | null = null;

  @Field()
  @Property({ type: 'timestamptz' })
  arrivalDate!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  stripeCreatedAt!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  lastSeenAt!: Date;
}
