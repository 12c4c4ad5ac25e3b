import { BlobType, Entity, Enum, Index, ManyToOne, Property, type Opt, type Ref } from '@mikro-orm/core';
import { registerEnumType } from 'type-graphql';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import { BaseEntity } from '../platform/database/base.entity';

/** A verification session's state. NONE is never stored: it is what a customer without a session has. */
export enum VerificationStatus {
  NONE = 'NONE',
  PENDING = 'PENDING',
  VERIFIED = 'VERIFIED',
  REJECTED = 'REJECTED',
}
registerEnumType(VerificationStatus, {
  name: 'VerificationStatus',
  description: 'NONE: never asked. PENDING: a session is open with the provider. VERIFIED: KYC passed (and the terms signed, when asked). REJECTED: the provider (or an operator) refused; see reason.',
});

export enum VerificationStep {
  KYC = 'KYC',
  ESIGN = 'ESIGN',
}
registerEnumType(VerificationStep, { name: 'VerificationStep', description: 'KYC: identity (PAN) check. ESIGN: e-signature of the plan\'s terms.' });

/** Who recorded the row: a provider session, or an operator's override without one. */
export const OVERRIDE_PROVIDER = 'override';

/**
 * One verification session of a customer with the provider (or an operator's override). The row
 * is inserted, committed, before the provider is asked (its id is the session's reference and the
 * idempotency key), so a crash in between leaves a PENDING row the next attempt reuses.
 *
 * `current` marks the row Customer.verification shows (one per customer, a partial unique index).
 * Personal data (panLast4, kycName, signedDocument) is erased with the customer's
 * (forgetVerificationDetails); the verdict, termsVersion, signedAt and documentSha256 stay as the
 * compliance record.
 */
@Entity({ tableName: 'verifications' })
@Index({ properties: ['customer', 'status'] })
@Index({ name: 'verifications_current', expression: `create unique index "verifications_current" on "verifications" ("customer_id") where "current"` })
@Index({
  name: 'verifications_awaiting',
  expression: `create index "verifications_awaiting" on "verifications" ("created_at", "id") where "current" and "status" <> 'VERIFIED' and "payment_blocked_at" is not null`,
})
export class Verification extends BaseEntity {
  @ManyToOne({ entity: () => Customer, ref: true })
  customer!: Ref<Customer>;

  /** The plan the session was started for (the last one a payment was refused for). */
  @ManyToOne({ entity: () => Plan, ref: true, nullable: true, index: true })
  plan: Ref<Plan> | null = null;

  @Property({ type: 'text' })
  provider!: string;

  /** The provider's session id; null until the provider answered (or for an override). */
  @Property({ type: 'text', nullable: true, unique: true })
  providerRef: string | null = null;

  /** Where the customer completes the session. */
  @Property({ type: 'text', nullable: true })
  url: string | null = null;

  @Enum({ items: [VerificationStatus.PENDING, VerificationStatus.VERIFIED, VerificationStatus.REJECTED], default: VerificationStatus.PENDING })
  status: VerificationStatus & Opt = VerificationStatus.PENDING;

  /** Why REJECTED (the provider's words, or the operator's note). */
  @Property({ type: 'text', nullable: true })
  reason: string | null = null;

  @Property({ type: 'boolean', default: true })
  current: boolean & Opt = true;

  /** The terms the session asked the customer to sign (the plan's termsVersion); null: KYC only. */
  @Property({ type: 'text', nullable: true })
  requestedTermsVersion: string | null = null;

  /** Whether the session asked for KYC (false: KYC passed already, only new terms to sign). */
  @Property({ type: 'boolean', default: true })
  kycRequired: boolean & Opt = true;

  @Property({ type: 'boolean', default: false })
  kycDone: boolean & Opt = false;

  @Property({ type: 'boolean', default: false })
  esignDone: boolean & Opt = false;

  /** Personal data: the last four characters of the PAN, as the provider read it. */
  @Property({ type: 'varchar', length: 4, nullable: true })
  panLast4: string | null = null;

  /** Personal data: the name on the document, as the provider read it. */
  @Property({ type: 'text', nullable: true })
  kycName: string | null = null;

  @Property({ type: 'boolean', nullable: true })
  nameMatched: boolean | null = null;

  /** The terms this verification covers: the version actually signed (or an override's). */
  @Property({ type: 'text', nullable: true })
  termsVersion: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  signedAt: Date | null = null;

  /** SHA-256 (hex) of the signed document: kept after erasure, it proves what was signed. */
  @Property({ type: 'varchar', length: 64, nullable: true })
  documentSha256: string | null = null;

  /** Personal data: the signed document itself, when the provider sent it. */
  @Property({ type: BlobType, nullable: true, lazy: true })
  signedDocument: Buffer | null = null;

  /** When the verdict (VERIFIED / REJECTED) was recorded. */
  @Property({ type: 'timestamptz', nullable: true })
  verdictAt: Date | null = null;

  /** The provider's time of the last event applied: an older event never overrides a newer one. */
  @Property({ type: 'timestamptz', nullable: true })
  providerEventAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  overriddenBy: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  overriddenAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  overrideNote: string | null = null;

  /** The last time a checkout was refused because of this verification (the dashboard's "blocked" list). */
  @Property({ type: 'timestamptz', nullable: true })
  paymentBlockedAt: Date | null = null;
}
