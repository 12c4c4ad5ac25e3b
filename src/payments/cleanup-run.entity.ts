import { Entity, Index, Property, type Opt } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';

/** One run of the stale-payment cleanup, kept for cleanupStats. */
@ObjectType()
@Entity({ tableName: 'cleanup_runs' })
@Index({ properties: ['startedAt'] })
export class CleanupRun extends BaseEntity {
  @Field({ description: 'job, operator, customer' })
  @Property({ type: 'text' })
  trigger!: string;

  @Field()
  @Property({ type: 'timestamptz' })
  startedAt!: Date;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  expired: number & Opt = 0;

  @Field(() => Int, { description: 'Stale payments found paid at Stripe when we went to expire them.' })
  @Property({ type: 'integer', default: 0 })
  foundPaid: number & Opt = 0;

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  errors: number & Opt = 0;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;
}
