import { Entity, Enum, Index, ManyToOne, OptionalProps, Property, type Opt, type Ref } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Customer } from '../customers/customer.entity';
import { BaseEntity } from '../platform/database/base.entity';
import { Payment } from '../payments/payment.entity';
import { RetryReason } from './strategies';

export enum RetryJobStatus {
  QUEUED = 'QUEUED',
  PROCESSING = 'PROCESSING',
  SUCCEEDED = 'SUCCEEDED',
  EXHAUSTED = 'EXHAUSTED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RetryJobStatus, { name: 'RetryJobStatus' });

/** RENEWAL: dunning of an auto-renewing subscription; QUEUED: queueRetry; CHARGE: chargeWithRetry. */
export enum RetryOrigin {
  RENEWAL = 'RENEWAL',
  QUEUED = 'QUEUED',
  CHARGE = 'CHARGE',
}
registerEnumType(RetryOrigin, { name: 'RetryOrigin' });

export const OPEN_JOB_STATUSES: readonly RetryJobStatus[] = [RetryJobStatus.QUEUED, RetryJobStatus.PROCESSING];

/**
 * A charge the queue owes: durable in PostgreSQL, so a crash or restart loses nothing. The
 * database enforces one open job per payment; due jobs are found through a partial index in
 * priority order (larger amounts first) and claimed with FOR UPDATE SKIP LOCKED plus a lease.
 */
@ObjectType()
@Entity({ tableName: 'retry_jobs' })
@Index({ name: 'retry_jobs_one_open_per_payment', expression: `create unique index "retry_jobs_one_open_per_payment" on "retry_jobs" ("payment_id") where "status" in ('QUEUED', 'PROCESSING')` })
@Index({ name: 'retry_jobs_due', expression: `create index "retry_jobs_due" on "retry_jobs" ("priority" desc, "next_attempt_at") where "status" = 'QUEUED'` })
@Index({ name: 'retry_jobs_lease', expression: `create index "retry_jobs_lease" on "retry_jobs" ("lease_expires_at") where "status" = 'PROCESSING'` })
// A subscription's period is renewed by one job, ever: two renewal runs cannot both charge it.
@Index({ name: 'retry_jobs_one_per_renewal', expression: `create unique index "retry_jobs_one_per_renewal" on "retry_jobs" ("subscription_id", "renewal_period_end") where "renewal_period_end" is not null` })
@Index({ properties: ['createdAt', 'id'] })
export class RetryJob extends BaseEntity {
  [OptionalProps]?: 'paymentId' | 'customerId';

  @ManyToOne({ entity: () => Payment, ref: true })
  payment!: Ref<Payment>;

  @Index()
  @ManyToOne({ entity: () => Customer, ref: true })
  customer!: Ref<Customer>;

  @Field(() => RetryOrigin)
  @Enum({ items: () => RetryOrigin })
  origin!: RetryOrigin;

  @Field(() => RetryJobStatus)
  @Enum({ items: () => RetryJobStatus, default: RetryJobStatus.QUEUED })
  status: RetryJobStatus & Opt = RetryJobStatus.QUEUED;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  subscriptionId: string | null = null;

  /** The period end this renewal pays for (dunning only). */
  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  renewalPeriodEnd: Date | null = null;

  @Field(() => Int)
  @Property({ type: 'integer' })
  amountMinor!: number;

  @Field()
  @Property({ type: 'varchar', length: 3 })
  currency!: string;

  @Field(() => Int, { description: 'Among due jobs, higher goes first: the amount.' })
  @Property({ type: 'integer' })
  priority!: number;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripeCustomerId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripePaymentMethodId: string | null = null;

  /** True when attempt 1 is the first charge itself (renewal, chargeWithRetry), not a retry. */
  @Property({ type: 'boolean', default: false })
  firstAttemptIsCharge: boolean & Opt = false;

  @Field(() => String, { nullable: true, description: 'The latest failure: error code.' })
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
  errorMessage: string | null = null;

  @Field(() => RetryReason, { nullable: true, description: 'The strategy the latest failure chose.' })
  @Enum({ items: () => RetryReason, nullable: true, type: 'text' })
  reason: RetryReason | null = null;

  @Field(() => Int, { description: 'Charges sent so far.' })
  @Property({ type: 'integer', default: 0 })
  attempts: number & Opt = 0;

  @Field(() => Int, { description: 'Charges the current strategy allows in all.' })
  @Property({ type: 'integer', default: 1 })
  maxAttempts: number & Opt = 1;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'No retry after this (a renewal: before access is cut).' })
  @Property({ type: 'timestamptz', nullable: true })
  deadlineAt: Date | null = null;

  @Property({ type: 'uuid', nullable: true })
  leaseToken: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null = null;

  @Field(() => String, { nullable: true, description: 'Why the job ended.' })
  @Property({ type: 'text', nullable: true })
  outcome: string | null = null;

  @Field(() => Boolean, { description: 'Succeeded on a retry, after a failure.' })
  @Property({ type: 'boolean', default: false })
  recovered: boolean & Opt = false;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  cancelledBy: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  customerNotifiedAt: Date | null = null;

  @Field(() => ID)
  get paymentId(): string {
    return this.payment.id;
  }

  @Field(() => ID)
  get customerId(): string {
    return this.customer.id;
  }
}
