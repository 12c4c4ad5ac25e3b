import { Entity, Enum, Index, ManyToOne, OptionalProps, Property, type Opt, type Ref } from '@mikro-orm/core';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { ReconciliationRun } from './reconciliation-run.entity';

export enum FindingType {
  PAYMENT_OUT_OF_SYNC = 'PAYMENT_OUT_OF_SYNC',
  STUCK_AUTHORIZATION = 'STUCK_AUTHORIZATION',
  FAILED_PAYOUT = 'FAILED_PAYOUT',
  MISSING_PAYMENT = 'MISSING_PAYMENT',
  UNKNOWN_GATEWAY_PAYMENT = 'UNKNOWN_GATEWAY_PAYMENT',
  NO_SHOW_AUTO_RELEASED = 'NO_SHOW_AUTO_RELEASED',
  MISSED_WEBHOOK = 'MISSED_WEBHOOK',
}
registerEnumType(FindingType, { name: 'FindingType' });

/** One discrepancy one run found, and what was done about it. */
@ObjectType()
@Entity({ tableName: 'reconciliation_findings' })
@Index({ properties: ['run', 'type'] })
@Index({ properties: ['subjectId', 'createdAt'] })
// Open findings (their alert still open) are found from the open alerts: /metrics.
@Index({ name: 'reconciliation_findings_alert', expression: `create index "reconciliation_findings_alert" on "reconciliation_findings" ("alert_id") where "alert_id" is not null` })
export class ReconciliationFinding extends BaseEntity {
  [OptionalProps]?: 'runId';

  @ManyToOne({ entity: () => ReconciliationRun, ref: true })
  run!: Ref<ReconciliationRun>;

  @Field(() => FindingType)
  @Enum({ items: () => FindingType })
  type!: FindingType;

  @Field({ description: 'payment, payment_intent, payout, subscription, event' })
  @Property({ type: 'text' })
  subjectType!: string;

  @Field()
  @Property({ type: 'text' })
  subjectId!: string;

  @Field()
  @Property({ type: 'text' })
  detail!: string;

  @Field({ description: 'alerted, released, replayed, release_failed…' })
  @Property({ type: 'text' })
  action!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  alertId: string | null = null;

  @Field(() => Boolean, { description: 'The alert was raised by this run (not already open from an earlier one).' })
  @Property({ type: 'boolean', default: false })
  newAlert: boolean & Opt = false;

  @Field(() => GraphQLJSON, { nullable: true, description: 'Both sides as seen: our status, Stripe status, amounts, deadlines.' })
  @Property({ type: 'jsonb', nullable: true })
  data: Record<string, unknown> | null = null;

  @Field(() => ID)
  get runId(): string {
    return this.run.id;
  }
}
