import { Entity, Enum, Index, ManyToOne, Property, type Opt } from '@mikro-orm/core';
import { Payment } from '../payments/payment.entity';
import { DeliveryStatus } from './delivery-status';

/**
 * One per paid payment, keyed by its id (a foreign key, on delete cascade).
 * Written only by src/delivery/, mostly with hand-written SQL (the claim, the outcome); the row is
 * the queue: PENDING with next_attempt_at is owed, IN_PROGRESS with next_attempt_at is a lease.
 * Triggers keep delivery_counters (recoveryStats) in step with every change.
 */
@Entity({ tableName: 'deliveries' })
@Index({ name: 'deliveries_due', expression: `create index "deliveries_due" on "deliveries" ("next_attempt_at") where "status" in ('PENDING', 'IN_PROGRESS')` })
@Index({ name: 'deliveries_owed_since', expression: `create index "deliveries_owed_since" on "deliveries" ("owed_since") where "status" in ('PENDING', 'IN_PROGRESS')` })
@Index({ name: 'deliveries_attention', expression: `create index "deliveries_attention" on "deliveries" ("status", "created_at") where "status" in ('FAILED', 'AWAITING_CUSTOMER')` })
export class Delivery {
  // The key is the payment's: one delivery per payment (mapToPk: the property is the bare id).
  @ManyToOne({ entity: () => Payment, primary: true, mapToPk: true, fieldName: 'payment_id', deleteRule: 'cascade', updateRule: 'cascade' })
  paymentId!: string;

  @Enum({ items: () => DeliveryStatus })
  status!: DeliveryStatus;

  @Property({ type: 'integer', default: 0 })
  attempts: number & Opt = 0;

  @Property({ type: 'timestamptz', nullable: true })
  lastAttemptAt: Date | null = null;

  /** When the next attempt is due (or, while IN_PROGRESS, when the claim expires). */
  @Property({ type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  failureReason: string | null = null;

  /** Delivered after a failed or missed attempt. */
  @Property({ type: 'boolean', default: false })
  recovered: boolean & Opt = false;

  /** Email fallback: the end of its claim's lease (claimable again after it), then when it was sent. */
  @Property({ type: 'timestamptz', nullable: true })
  emailClaimedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  emailedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  deliveredAt: Date | null = null;

  /** The payment stopped granting access (refunded, cancelled); a delivered payment stays DELIVERED. */
  @Property({ type: 'timestamptz', nullable: true })
  accessRevokedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  accessRevokedReason: string | null = null;

  /** The payment's paid_at, copied when the delivery became owed: seconds-to-delivery without a join. */
  @Property({ type: 'timestamptz', nullable: true })
  paidAt: Date | null = null;

  /**
   * When the delivery last became owed (PENDING or IN_PROGRESS); null while it is not. Written only by
   * a row trigger (migration 20261203060500), from the writer's updated_at: whatever is set here is
   * overwritten.
   */
  @Property({ type: 'timestamptz', nullable: true })
  owedSince: Date | null = null;

  @Property({ type: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
