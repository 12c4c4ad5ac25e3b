import { PrimaryKey, Property, type Opt } from '@mikro-orm/core';
import { Field, ID, InterfaceType } from 'type-graphql';
import { newId } from '../shared/ids';

/** Every row: a UUID we generate (so it can key idempotency before the insert) and timestamps. */
@InterfaceType('Node', { description: 'Anything with an id and timestamps.' })
export abstract class BaseEntity {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = newId();

  @Field(() => Date)
  @Property({ type: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date)
  @Property({ type: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
