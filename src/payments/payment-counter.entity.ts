import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Payments per status, per shard (by backend, so concurrent transactions seldom queue on one row):
 * the sum over shards is the count. Written only by the database: statement-level triggers on
 * payments keep it in the transaction that inserts, changes or deletes a payment (migration
 * 20261203060500). Mapped so the schema diff knows the table; never written through the ORM.
 */
@Entity({ tableName: 'payment_counters' })
export class PaymentCounter {
  @PrimaryKey({ type: 'smallint' })
  shard!: number;

  @PrimaryKey({ type: 'text' })
  status!: string;

  /** May be negative on one shard (a payment inserted on one and moved on another); the sum is not. */
  @Property({ type: 'bigint', default: 0 })
  n!: string;
}
