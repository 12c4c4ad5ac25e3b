import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/*
 * The daily rollups behind revenueSeries and deliverySeries. Written only by the database:
 * statement-level triggers on payments, subscriptions and deliveries keep them in the transaction
 * that changes those rows (migration 20261203061928, which also backfilled them). Each day has up
 * to 16 shard rows (by backend) that readers sum. Mapped so the schema diff knows the tables;
 * never written through the ORM.
 */

/** Money and checkouts per currency and UTC day. */
@Entity({ tableName: 'analytics_daily' })
export class AnalyticsDaily {
  @PrimaryKey({ type: 'varchar', length: 3 }) currency!: string;
  @PrimaryKey({ type: 'date' }) day!: string;
  @PrimaryKey({ type: 'smallint' }) shard!: number;
  /** Amounts of the payments that succeeded that day (once each: a won dispute does not count again). */
  @Property({ type: 'bigint', default: 0 }) grossMinor!: string;
  /** Change in refunded totals recorded that day (a failed refund takes its amount off again). */
  @Property({ type: 'bigint', default: 0 }) refundedMinor!: string;
  @Property({ type: 'bigint', default: 0 }) payments!: string;
  @Property({ type: 'bigint', default: 0 }) firstPurchases!: string;
  @Property({ type: 'bigint', default: 0 }) renewals!: string;
  /** Checkouts created that day, and how many of those have since succeeded. */
  @Property({ type: 'bigint', default: 0 }) checkoutsStarted!: string;
  @Property({ type: 'bigint', default: 0 }) checkoutsSucceeded!: string;
}

/** Subscriptions that started running (ACTIVE or PAST_DUE) and that lapsed, per UTC day. */
@Entity({ tableName: 'subscription_daily' })
export class SubscriptionDaily {
  @PrimaryKey({ type: 'date' }) day!: string;
  @PrimaryKey({ type: 'smallint' }) shard!: number;
  @Property({ type: 'bigint', default: 0 }) started!: string;
  @Property({ type: 'bigint', default: 0 }) ended!: string;
}

/**
 * Deliveries that became DELIVERED (recovered among them) or FAILED, per UTC day, with the seconds
 * from payment to delivery in delivery_counters' buckets (le_<seconds>: counts, not cumulative).
 */
@Entity({ tableName: 'delivery_daily' })
export class DeliveryDaily {
  @PrimaryKey({ type: 'date' }) day!: string;
  @PrimaryKey({ type: 'smallint' }) shard!: number;
  @Property({ type: 'bigint', default: 0 }) delivered!: string;
  @Property({ type: 'bigint', default: 0 }) recovered!: string;
  @Property({ type: 'bigint', default: 0 }) failed!: string;
  /** Deliveries whose payment and delivery times are both known, and the sum of their seconds. */
  @Property({ type: 'bigint', default: 0 }) timed!: string;
  @Property({ type: 'double', default: 0 }) seconds!: number;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_1' }) le1!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_2' }) le2!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_5' }) le5!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_10' }) le10!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_30' }) le30!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_60' }) le60!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_120' }) le120!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_300' }) le300!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_600' }) le600!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_1800' }) le1800!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_3600' }) le3600!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_7200' }) le7200!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_21600' }) le21600!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_86400' }) le86400!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_604800' }) le604800!: string;
  @Property({ type: 'bigint', default: 0, fieldName: 'le_inf' }) leInf!: string;
}
