import { Entity, Enum, Index, Property, type Opt } from '@mikro-orm/core';
import { Field, Int, ObjectType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { AlertSeverity, AlertType } from './alert.types';

/**
 * An exception an operator must see. At most one open alert per fingerprint (a partial unique
 * index): raising it again bumps `occurrences` and `lastSeenAt` instead of adding a row.
 */
@ObjectType()
@Entity({ tableName: 'alerts' })
@Index({ name: 'alerts_open_fingerprint', expression: `create unique index "alerts_open_fingerprint" on "alerts" ("fingerprint") where "resolved_at" is null` })
@Index({ name: 'alerts_open_by_severity', expression: `create index "alerts_open_by_severity" on "alerts" ("severity") where "resolved_at" is null` })
@Index({ properties: ['createdAt', 'id'] })
@Index({ name: 'alerts_notify_due', expression: `create index "alerts_notify_due" on "alerts" ("notify_next_at") where "notify_status" = 'PENDING'` })
export class Alert extends BaseEntity {
  /** Plain text, not a check constraint: new alert types arrive with features, not migrations. */
  @Field(() => AlertType)
  @Property({ type: 'text' })
  type!: AlertType;

  @Field(() => AlertSeverity)
  @Enum({ items: () => AlertSeverity, type: 'text' })
  severity!: AlertSeverity;

  @Field()
  @Property({ type: 'text' })
  title!: string;

  @Field()
  @Property({ type: 'text' })
  detail!: string;

  @Field(() => String, { nullable: true, description: 'What the alert is about: payment, payout, job, gateway_event…' })
  @Property({ type: 'text', nullable: true })
  subjectType: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  subjectId: string | null = null;

  @Field()
  @Property({ type: 'text' })
  fingerprint!: string;

  @Field(() => Int)
  @Property({ type: 'integer', default: 1 })
  occurrences: number & Opt = 1;

  @Field()
  @Property({ type: 'timestamptz' })
  firstSeenAt!: Date;

  @Field()
  @Property({ type: 'timestamptz' })
  lastSeenAt!: Date;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  resolvedAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  resolvedBy: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  resolutionNote: string | null = null;

  // Outbound notification (ALERT_WEBHOOK_URL), written only by AlertNotifier. The row is the
  // queue: PENDING with notifyNextAt is due work that survives a crash.

  @Field(() => String, { nullable: true, description: 'Outbound webhook notification: PENDING, SENT or FAILED; null when none was due.' })
  @Property({ type: 'text', nullable: true })
  notifyStatus: 'PENDING' | 'SENT' | 'FAILED' | null = null;

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  notifyAttempts: number & Opt = 0;

  @Property({ type: 'timestamptz', nullable: true })
  notifyNextAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  notifyError: string | null = null;
}
