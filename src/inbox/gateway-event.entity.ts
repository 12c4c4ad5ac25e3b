import { Entity, Index, Property, Unique, type Opt } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { BaseEntity } from '../platform/database/base.entity';

/**
 * Every webhook event received. Unique on (gateway, eventId): a redelivery finds the row and does
 * nothing. A row with processedAt null and nextAttemptAt set is work for the retry job.
 */
@ObjectType()
@Entity({ tableName: 'gateway_events' })
@Unique({ properties: ['gateway', 'eventId'] })
@Index({ name: 'gateway_events_unprocessed', expression: `create index "gateway_events_unprocessed" on "gateway_events" ("next_attempt_at") where "processed_at" is null` })
@Index({ properties: ['createdAt', 'id'] })
@Index({ name: 'gateway_events_failed', expression: `create index "gateway_events_failed" on "gateway_events" ("created_at", "id") where "processed_at" is null and "last_error" is not null` })
export class GatewayEvent extends BaseEntity {
  @Field()
  @Property({ type: 'text' })
  gateway!: string;

  @Field()
  @Property({ type: 'text' })
  eventId!: string;

  @Field()
  @Property({ type: 'text' })
  type!: string;

  @Field(() => GraphQLJSON)
  @Property({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Field()
  @Property({ type: 'timestamptz' })
  receivedAt!: Date;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  processedAt: Date | null = null;

  @Field(() => String, { nullable: true, description: 'What applying the event did (applied, ignored, skipped: …).' })
  @Property({ type: 'text', nullable: true })
  outcome: string | null = null;

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  attempts: number & Opt = 0;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null = null;

  /**
   * JSON paths whose strings held what jsonb cannot store (U+0000, a lone UTF-16 surrogate) and
   * were stored with U+FFFD instead; `… (key)` when it was an object key. Null: stored as sent.
   */
  @Field(() => [String], { nullable: true })
  @Property({ type: 'json', nullable: true })
  sanitizedPaths: string[] | null = null;
}
