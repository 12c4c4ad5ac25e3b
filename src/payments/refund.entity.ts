import { Entity, Enum, Index, ManyToOne, OptionalProps, Property, type Opt, type Ref } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { Payment } from './payment.entity';

/**
 * PENDING: committed before Stripe was asked, so its id can key the request (`refund:<id>`);
 * it stays PENDING while the outcome is unknown (a timeout) and the next refund request for the
 * payment settles it with the same key first. SUCCEEDED and FAILED are final.
 */
export enum RefundStatus {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(RefundStatus, { name: 'RefundStatus' });

/** One refund an operator (or a system job) asked for; Stripe's refund id once it exists. */
@ObjectType()
@Entity({ tableName: 'refunds' })
@Index({ properties: ['payment', 'createdAt'] })
@Index({ name: 'refunds_pending', expression: `create index "refunds_pending" on "refunds" ("payment_id") where "status" = 'PENDING'` })
export class Refund extends BaseEntity {
  [OptionalProps]?: 'paymentId' | 'idempotencyKey';

  @ManyToOne({ entity: () => Payment, ref: true })
  payment!: Ref<Payment>;

  @Field(() => Int)
  @Property({ type: 'integer' })
  amountMinor!: number;

  @Field()
  @Property({ type: 'varchar', length: 3 })
  currency!: string;

  @Field()
  @Property({ type: 'text' })
  reason!: string;

  @Field(() => RefundStatus)
  @Enum({ items: () => RefundStatus, default: RefundStatus.PENDING })
  status: RefundStatus & Opt = RefundStatus.PENDING;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true, unique: true })
  stripeRefundId: string | null = null;

  @Field({ description: 'Who asked for it: operator:<sub>, apikey:<name>, system:<component>.' })
  @Property({ type: 'text' })
  requestedBy!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  failureMessage: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  completedAt: Date | null = null;

  @Field(() => ID)
  get paymentId(): string {
    return this.payment.id;
  }

  /** Derived from our id, so a retry after a timeout cannot refund twice. */
  get idempotencyKey(): string {
    return `refund:${this.id}`;
  }
}
