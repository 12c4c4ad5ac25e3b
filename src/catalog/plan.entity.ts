import { Entity, Enum, Index, ManyToOne, Property, type Ref, type Opt } from '@mikro-orm/core';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { BaseEntity } from '../platform/database/base.entity';
import { Bundle } from './bundle.entity';

export enum CaptureMode {
  AUTOMATIC = 'AUTOMATIC',
  MANUAL = 'MANUAL',
}
registerEnumType(CaptureMode, { name: 'CaptureMode', description: 'MANUAL authorizes at checkout and captures once access is fulfilled.' });

/** Which payment gateway takes a plan's money (and so its payments'). */
export enum PaymentGatewayName {
  STRIPE = 'STRIPE',
  CASHFREE = 'CASHFREE',
}
registerEnumType(PaymentGatewayName, {
  name: 'PaymentGatewayName',
  description: 'STRIPE: Stripe Checkout, everything Recoup does. CASHFREE: a Cashfree order and its hosted checkout; automatic capture only, no off-session charges (renewals, retries).',
});

/** A price for a bundle over a period. Money is integer minor units plus an ISO currency. */
@ObjectType()
@Entity({ tableName: 'plans' })
export class Plan extends BaseEntity {
  @Index()
  @ManyToOne({ entity: () => Bundle, ref: true })
  bundle!: Ref<Bundle>;

  @Field()
  @Property({ type: 'text' })
  name!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  amountMinor!: number;

  @Field({ description: 'ISO 4217, lower case as Stripe uses it.' })
  @Property({ type: 'varchar', length: 3 })
  currency!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  durationDays!: number;

  @Field(() => CaptureMode)
  @Enum({ items: () => CaptureMode, nativeEnumName: undefined, default: CaptureMode.AUTOMATIC })
  captureMode: CaptureMode & Opt = CaptureMode.AUTOMATIC;

  @Field(() => PaymentGatewayName, { description: 'The gateway its payments go through (default STRIPE).' })
  @Enum({ items: () => PaymentGatewayName, default: PaymentGatewayName.STRIPE })
  gateway: PaymentGatewayName & Opt = PaymentGatewayName.STRIPE;

  @Field(() => Boolean)
  @Property({ type: 'boolean', default: true })
  active: boolean & Opt = true;

  @Field(() => Boolean, { description: 'A checkout needs the customer VERIFIED first (KYC, and an e-signature of termsVersion when set): createPayment answers VERIFICATION_REQUIRED until then.' })
  @Property({ type: 'boolean', default: false })
  requiresVerification: boolean & Opt = false;

  @Field(() => String, { nullable: true, description: 'The terms the customer must e-sign before paying (with requiresVerification); null: KYC only.' })
  @Property({ type: 'text', nullable: true })
  termsVersion: string | null = null;
}
