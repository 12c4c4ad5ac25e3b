import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * recoveryStats' counters, per shard (by backend, so concurrent deliveries do not queue on one
 * row) and key. Written only by the database: statement-level triggers on deliveries keep them in
 * the transaction that changes a delivery (migration 20261202190954). Mapped so the schema diff
 * knows the table; never written through the ORM.
 */
@Entity({ tableName: 'delivery_counters' })
export class DeliveryCounter {
  @PrimaryKey({ type: 'smallint' })
  shard!: number;

  /** successful, delivered, failed, awaiting, pending, recovered, timed, le_<seconds> | le_inf. */
  @PrimaryKey({ type: 'text' })
  key!: string;

  @Property({ type: 'bigint', default: 0 })
  n!: string;

  /** Sum of seconds from payment to delivery (the `timed` key). */
  @Property({ type: 'double', default: 0 })
  seconds!: number;
}
