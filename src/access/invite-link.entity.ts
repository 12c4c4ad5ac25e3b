import { Entity, Index, ManyToOne, Property, type Ref, type Opt } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { Channel } from '../catalog/channel.entity';
import { BaseEntity } from '../platform/database/base.entity';
import { Payment } from '../payments/payment.entity';

/**
 * One Telegram invite link per payment and channel (member limit 1). Stored before any message is
 * sent, so a retried delivery sends the same link rather than minting another.
 */
@ObjectType()
@Entity({ tableName: 'invite_links' })
@Index({ name: 'invite_links_live_per_payment_channel', expression: `create unique index "invite_links_live_per_payment_channel" on "invite_links" ("payment_id", "channel_id") where "revoked_at" is null` })
@Index({ name: 'invite_links_test_access_due', expression: `create index "invite_links_test_access_due" on "invite_links" ("access_ends_at") where "is_test" and "access_removed_at" is null` })
export class InviteLink extends BaseEntity {
  /** Null for an operator's test link (createTestInviteLink). */
  @ManyToOne({ entity: () => Payment, ref: true, nullable: true })
  payment: Ref<Payment> | null = null;

  @ManyToOne({ entity: () => Channel, ref: true })
  channel!: Ref<Channel>;

  @Field()
  @Index()
  @Property({ type: 'text' })
  telegramInviteLink!: string;

  @Field()
  @Property({ type: 'text' })
  name!: string;

  @Field(() => Int)
  @Property({ type: 'integer', default: 1 })
  memberLimit: number & Opt = 1;

  @Field(() => Boolean, { description: 'A join-request link: the bot approves the request instead of the link admitting directly.' })
  @Property({ type: 'boolean', default: false })
  createsJoinRequest: boolean & Opt = false;

  @Field()
  @Property({ type: 'timestamptz' })
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  usedByTelegramUserId: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  usedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  @Field(() => Boolean)
  @Property({ type: 'boolean', default: false })
  isTest: boolean & Opt = false;

  /** Test links: when whoever joined through it is removed again. */
  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  accessEndsAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  accessRemovedAt: Date | null = null;
}
