import { Entity, Enum, Index, ManyToOne, Property, Unique, type Ref } from '@mikro-orm/core';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { RetryJob } from './retry-job.entity';

/** UNKNOWN: Stripe may or may not have charged (no answer, 5xx, or the worker died); the next attempt re-sends this key. */
export enum AttemptOutcome {
  IN_FLIGHT = 'IN_FLIGHT',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  UNKNOWN = 'UNKNOWN',
}
registerEnumType(AttemptOutcome, { name: 'RetryAttemptOutcome' });

/**
 * One charge sent by the queue. The row is written (IN_FLIGHT, with its idempotency key) before
 * Stripe is called and completed after: a crash in between leaves the key to re-send. The
 * per-card retry budget is a count over these rows.
 */
@ObjectType()
@Entity({ tableName: 'retry_attempts' })
@Unique({ properties: ['job', 'attempt'] })
@Index({ name: 'retry_attempts_card_budget', expression: `create index "retry_attempts_card_budget" on "retry_attempts" ("stripe_payment_method_id", "started_at") where "is_retry"` })
export class RetryAttempt extends BaseEntity {
  @ManyToOne({ entity: () => RetryJob, ref: true })
  job!: Ref<RetryJob>;

  @Field(() => Int)
  @Property({ type: 'integer' })
  attempt!: number;

  @Field()
  @Property({ type: 'text' })
  idempotencyKey!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripePaymentMethodId!: string | null;

  @Field(() => Boolean, { description: 'Counts against the card budget: sent after a failed charge.' })
  @Property({ type: 'boolean' })
  isRetry!: boolean;

  @Field(() => AttemptOutcome)
  @Enum({ items: () => AttemptOutcome, type: 'text' })
  outcome!: AttemptOutcome;

  @Field()
  @Property({ type: 'timestamptz' })
  startedAt!: Date;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  errorCode: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  declineCode: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  adviceCode: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  message: string | null = null;

  @Field(() => Int, { nullable: true })
  @Property({ type: 'integer', nullable: true })
  statusCode: number | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripePaymentIntentId: string | null = null;
}
