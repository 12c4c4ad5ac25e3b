import { Entity, Enum, Index, Property, type Opt } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { PaymentGatewayName } from '../catalog/plan.entity';

/**
 * A payout as we last saw it: a Stripe payout (webhook or nightly reconciliation) or a Cashfree
 * settlement (nightly reconciliation), its status in Stripe's vocabulary. Kept so failed and
 * cancelled payouts can be listed and a status change noticed; the gateway stays the source of
 * truth. The ids cannot clash (Stripe's start po_, Cashfree's are digits): one unique column.
 */
@ObjectType()
@Entity({ tableName: 'payouts' })
@Index({ name: 'payouts_failed', expression: `create index "payouts_failed" on "payouts" ("stripe_created_at") where "status" = 'failed'` })
export class Payout extends BaseEntity {
  @Field({ description: "The gateway's id: a Stripe payout (po_…) or a Cashfree settlement (cf_settlement_id)." })
  @Property({ type: 'text', unique: true })
  stripePayoutId!: string;

  @Field(() => PaymentGatewayName, { description: 'STRIPE: a Stripe payout; CASHFREE: a Cashfree settlement.' })
  @Enum({ items: () => PaymentGatewayName, default: PaymentGatewayName.STRIPE })
  gateway: PaymentGatewayName & Opt = PaymentGatewayName.STRIPE;

  @Field(() => Int)
  @Property({ type: 'integer' })
  amountMinor!: number;

  @Field()
  @Property({ type: 'varchar', length: 3 })
  currency!: string;

  @Field({ description: "Stripe's status (paid, pending, in_transit, canceled, failed); a Cashfree settlement's is mapped to it (SUCCESS paid, PENDING_WITH_BANK in_transit, FAILED failed, else pending)." })
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
