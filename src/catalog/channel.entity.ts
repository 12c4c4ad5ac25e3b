import { Entity, Property, Unique, type Opt } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';

@ObjectType()
@Entity({ tableName: 'channels' })
export class Channel extends BaseEntity {
  @Field()
  @Unique()
  @Property({ type: 'text' })
  telegramChatId!: string;

  @Field()
  @Property({ type: 'text' })
  title!: string;

  @Field(() => Boolean, { description: 'Members join through approved join requests rather than direct links.' })
  @Property({ type: 'boolean', default: false })
  requiresApproval: boolean & Opt = false;
}
