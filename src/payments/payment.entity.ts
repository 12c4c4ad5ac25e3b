import { Entity, Enum, Index, ManyToOne, OptionalProps, Property, type Ref, type Opt } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Bundle } from '../catalog/bundle.entity';
import { CaptureMode, PaymentGatewayName } from '../catalog/plan.entity';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import { BaseEntity } from '../platform/database/base.entity';
import { PaymentKind } from './payment-kind';
import { PaymentStatus } from './payment-status';

registerEnumType(PaymentStatus, { name: 'PaymentStatus' });

/**
 * `status` and the status timestamps are written only by PaymentTransitions (the state machine).
 * Partial indexes serve the sweeps: they touch the rows that need work, not the table.
 */
@ObjectType()
@Entity({ tableName: 'payments' })
@Index({ name: 'payments_open_by_age', expression: `create index "payments_open_by_age" on "payments" ("created_at") where "status" in ('PENDING', 'FAILED')` })
// One open (unpaid, still payable) payment per customer and bundle, enforced by the database so
// that concurrent checkouts cannot both create one.
@Index({ name: 'payments_one_open_per_customer_bundle', expression: `create unique index "payments_one_open_per_customer_bundle" on "payments" ("customer_id", "bundle_id") where "status" in ('PENDING', 'FAILED')` })
@Index({ name: 'payments_refund_requested', expression: `create index "payments_refund_requested" on "payments" ("refund_requested_at") where "refund_requested_at" is not null and "status" = 'SUCCEEDED'` })
@Index({ properties: ['createdAt', 'id'] })
// Manual capture: authorized payments waiting for (or retrying) capture; the claim asks their delivery.
@Index({ name: 'payments_capture_due', expression: `create index "payments_capture_due" on "payments" ("capture_next_attempt_at") where "status" = 'AUTHORIZED' and "capture_mode" = 'MANUAL'` })
export class Payment extends BaseEntity {
  [OptionalProps]?: 'customerId' | 'planId' | 'bundleId';

  @Index()
  @ManyToOne({ entity: () => Customer, ref: true })
  customer!: Ref<Customer>;

  @ManyToOne({ entity: () => Plan, ref: true })
  plan!: Ref<Plan>;

  /** Denormalised from the plan: the pending-payment rules are per customer and bundle. */
  @ManyToOne({ entity: () => Bundle, ref: true })
  bundle!: Ref<Bundle>;

  @Field(() => Int)
  @Property({ type: 'integer' })
  amountMinor!: number;

  @Field()
  @Property({ type: 'varchar', length: 3 })
  currency!: string;

  @Field(() => PaymentStatus)
  @Enum({ items: () => PaymentStatus, default: PaymentStatus.PENDING })
  status: PaymentStatus & Opt = PaymentStatus.PENDING;

  @Field(() => CaptureMode)
  @Enum({ items: () => CaptureMode, default: CaptureMode.AUTOMATIC })
  captureMode: CaptureMode & Opt = CaptureMode.AUTOMATIC;

  /** Written once, at creation: a renewal or off-session charge is never cleaned up as an abandoned checkout. */
  @Field(() => PaymentKind)
  @Enum({ items: () => PaymentKind, default: PaymentKind.CHECKOUT })
  kind: PaymentKind & Opt = PaymentKind.CHECKOUT;

  /** Written once, at creation, from the plan. Stripe's ids below stay null for a Cashfree payment. */
  @Field(() => PaymentGatewayName)
  @Enum({ items: () => PaymentGatewayName, default: PaymentGatewayName.STRIPE })
  gateway: PaymentGatewayName & Opt = PaymentGatewayName.STRIPE;

  /** The order at a gateway other than Stripe (Cashfree's order_id, which is our payment id). */
  @Field(() => String, { nullable: true, description: 'The order at a gateway other than Stripe (a Cashfree order id).' })
  @Property({ type: 'text', nullable: true, unique: true })
  gatewayOrderId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true, unique: true })
  stripeCheckoutSessionId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true, unique: true })
  stripePaymentIntentId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  checkoutUrl: string | null = null;

  /** Saved at checkout (setup_future_usage) for off-session renewal charges. */
  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripeCustomerId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  stripePaymentMethodId: string | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  checkoutExpiresAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  failureCode: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  failureMessage: string | null = null;

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  refundedMinor: number & Opt = 0;

  /** Set in the transaction that decided a refund (e.g. a late payment under the refund policy); cleared once Stripe confirmed. */
  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  refundRequestedAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  refundReason: string | null = null;

  @Field(() => Date)
  @Property({ type: 'timestamptz', defaultRaw: 'now()' })
  statusChangedAt: Date & Opt = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  authorizedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  succeededAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  failedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  expiredAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  cancelledAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  refundedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'timestamptz', nullable: true })
  disputedAt: Date | null = null;

  // Delivery state lives in src/delivery (the deliveries table); its GraphQL fields are resolved there.

  // Manual capture state: written only by src/payments/manual-capture.service.ts.

  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  captureAttempts: number & Opt = 0;

  @Field(() => Date, { nullable: true, description: 'When the next automatic capture attempt is due (or, while one runs, when its claim expires).' })
  @Property({ type: 'timestamptz', nullable: true })
  captureNextAttemptAt: Date | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  captureLastError: string | null = null;

  @Field(() => Date, { nullable: true, description: 'When the payment became paid (succeeded, or authorized under manual capture).' })
  @Property({ type: 'timestamptz', nullable: true })
  paidAt: Date | null = null;

  @Field(() => ID)
  get customerId(): string {
    return this.customer.id;
  }

  @Field(() => ID)
  get planId(): string {
    return this.plan.id;
  }

  @Field(() => ID)
  get bundleId(): string {
    return this.bundle.id;
  }
}
