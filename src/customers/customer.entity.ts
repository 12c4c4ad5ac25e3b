import { Entity, Index, Property } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';

/** Personal data lives only here, so deleting it is one row's worth of work (see access/). */
@ObjectType()
@Entity({ tableName: 'customers' })
export class Customer extends BaseEntity {
  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  name: string | null = null;

  @Field(() => String, { nullable: true })
  @Index()
  @Property({ type: 'text', nullable: true })
  email: string | null = null;

  @Field(() => String, { nullable: true })
  @Index()
  @Property({ type: 'text', nullable: true })
  phone: string | null = null;

  /** Telegram user ids exceed 2^31; kept as text. */
  @Field(() => String, { nullable: true })
  @Index()
  @Property({ type: 'text', nullable: true })
  telegramUserId: string | null = null;

  @Field(() => Date, { nullable: true, description: 'Set when personal data was deleted.' })
  @Property({ type: 'timestamptz', nullable: true })
  anonymizedAt: Date | null = null;
}
