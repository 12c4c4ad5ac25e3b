import { Entity, Enum, Index, Property, type Opt } from '@mikro-orm/core';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';

export enum ReconciliationRunStatus {
  RUNNING = 'RUNNING',
  /** Every check ran. */
  SUCCEEDED = 'SUCCEEDED',
  /** Some checks failed (see errors); the others' findings stand. */
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
}
registerEnumType(ReconciliationRunStatus, { name: 'ReconciliationRunStatus' });

export interface RunError {
  check: string;
  message: string;
}

/**
 * One reconciliation against Stripe. At most one RUNNING at a time (partial unique index); a
 * RUNNING row whose heartbeat stopped belonged to a process that died and is closed as FAILED.
 */
@ObjectType()
@Entity({ tableName: 'reconciliation_runs' })
@Index({ properties: ['createdAt', 'id'] })
@Index({ name: 'reconciliation_runs_one_running', expression: `create unique index "reconciliation_runs_one_running" on "reconciliation_runs" ((true)) where "status" = 'RUNNING'` })
export class ReconciliationRun extends BaseEntity {
  @Field({ description: 'job, operator:<sub>, …' })
  @Property({ type: 'text' })
  trigger!: string;

  @Field(() => ReconciliationRunStatus)
  @Enum({ items: () => ReconciliationRunStatus, default: ReconciliationRunStatus.RUNNING })
  status: ReconciliationRunStatus & Opt = ReconciliationRunStatus.RUNNING;

  @Field()
  @Property({ type: 'timestamptz' })
  windowStart!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  windowEnd!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  startedAt!: Date;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Property({ type: 'timestamptz' })
  heartbeatAt!: Date;

  @Field(() => Int, { nullable: true })
  @Property({ type: 'integer', nullable: true })
  durationMs: number | null = null;

  @Field(() => Int, { description: 'Requests made to Stripe, retries included.' })
  @Property({ type: 'integer', default: 0 })
  apiCalls: number & Opt = 0;

  @Field(() => Int, { description: 'Of those, answered 429 (and retried after a backoff).' })
  @Property({ type: 'integer', default: 0 })
  rateLimited: number & Opt = 0;

  @Field(() => Int, { description: 'PaymentIntents compared with our records.' })
  @Property({ type: 'integer', default: 0 })
  paymentsChecked: number & Opt = 0;

  @Field(() => Int) @Property({ type: 'integer', default: 0 }) outOfSync: number & Opt = 0;
  @Field(() => Int) @Property({ type: 'integer', default: 0 }) stuckAuthorizations: number & Opt = 0;
  @Field(() => Int) @Property({ type: 'integer', default: 0 }) failedPayouts: number & Opt = 0;
  @Field(() => Int, { description: 'Payouts whose status changed since we last saw them.' }) @Property({ type: 'integer', default: 0 }) payoutStatusChanges: number & Opt = 0;
  @Field(() => Int) @Property({ type: 'integer', default: 0 }) missingPayments: number & Opt = 0;
  @Field(() => Int) @Property({ type: 'integer', default: 0 }) unknownGatewayPayments: number & Opt = 0;
  @Field(() => Int) @Property({ type: 'integer', default: 0 }) noShowsReleased: number & Opt = 0;
  @Field(() => Int, { description: 'Undelivered Stripe events applied through the webhook intake.' }) @Property({ type: 'integer', default: 0 }) missedWebhooks: number & Opt = 0;
  @Field(() => Int, { description: 'Alerts raised for the first time by this run.' }) @Property({ type: 'integer', default: 0 }) alertsRaised: number & Opt = 0;
  @Field(() => Int, { description: 'Open alerts this run found no longer true and resolved.' }) @Property({ type: 'integer', default: 0 }) alertsResolved: number & Opt = 0;

  @Field(() => GraphQLJSON, { description: 'Checks that failed: [{ check, message }].' })
  @Property({ type: 'jsonb', default: '[]' })
  errors: RunError[] & Opt = [];
}
