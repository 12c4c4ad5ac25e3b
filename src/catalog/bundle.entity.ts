import { Collection, Entity, ManyToMany, Property, type Opt } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { Channel } from './channel.entity';

@ObjectType()
@Entity({ tableName: 'bundles' })
export class Bundle extends BaseEntity {
  @Field()
  @Property({ type: 'text' })
  name!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Field(() => Boolean)
  @Property({ type: 'boolean', default: true })
  active: boolean & Opt = true;

  @ManyToMany({ entity: () => Channel, pivotTable: 'bundle_channels', owner: true })
  channels = new Collection<Channel>(this);
}
