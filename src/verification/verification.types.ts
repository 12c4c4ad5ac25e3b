import { Field, ID, ObjectType } from 'type-graphql';
import { VerificationStatus, VerificationStep, type Verification } from './verification.entity';

/** What stands between a customer and a checkout for a plan that requires verification. */
@ObjectType({ description: 'What a customer must still do before paying for a plan that requires verification.' })
export class VerificationRequirement {
  @Field(() => VerificationStatus) status!: VerificationStatus;
  @Field(() => [VerificationStep], { description: 'Left to do: KYC, ESIGN (the plan\'s termsVersion), or none once VERIFIED.' }) stepsLeft!: VerificationStep[];
  @Field(() => String, { nullable: true, description: "PENDING: where the customer completes the verification at the provider. Null when VERIFIED, REJECTED (startVerification opens a new session), or the provider could not be reached (try startVerification again)." })
  verificationUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'REJECTED: why.' }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'The terms to sign (the plan\'s), if any.' }) termsVersion!: string | null;
}

/**
 * A customer's verification as operators see it: the verdict and the compliance record (what was
 * signed, when, and the document's hash). Never the personal details behind it (PAN, name, document).
 */
@ObjectType({ description: "A customer's KYC / e-sign state: the verdict and the compliance record. Personal details (PAN, name, document) are never exposed." })
export class CustomerVerification {
  @Field(() => ID, { nullable: true, description: 'The verification session; null for NONE.' }) id!: string | null;
  @Field(() => VerificationStatus) status!: VerificationStatus;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'VERIFIED: the terms signed (or an override covers); otherwise the terms asked for.' }) termsVersion!: string | null;
  @Field(() => Date, { nullable: true }) signedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Hex SHA-256 of the signed document: kept after personal data is erased.' }) documentSha256!: string | null;
  @Field(() => Date, { nullable: true }) updatedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'PENDING: where the customer completes it.' }) verificationUrl!: string | null;
  @Field({ description: 'Set by an operator (overrideVerification), not by the provider.' }) overridden!: boolean;
  @Field(() => Date, { nullable: true, description: 'The last time a checkout was refused for it.' }) paymentBlockedAt!: Date | null;
}

export const NO_VERIFICATION: CustomerVerification = {
  id: null, status: VerificationStatus.NONE, reason: null, termsVersion: null, signedAt: null, documentSha256: null,
  updatedAt: null, verificationUrl: null, overridden: false, paymentBlockedAt: null,
};

export function presentVerification(row: Verification | null): CustomerVerification {
  if (!row) return NO_VERIFICATION;
  return {
    id: row.id,
    status: row.status,
    reason: row.reason,
    termsVersion: row.status === VerificationStatus.VERIFIED ? row.termsVersion : (row.termsVersion ?? row.requestedTermsVersion),
    signedAt: row.signedAt,
    documentSha256: row.documentSha256,
    updatedAt: row.updatedAt,
    verificationUrl: row.status === VerificationStatus.PENDING ? row.url : null,
    overridden: row.overriddenAt !== null,
    paymentBlockedAt: row.paymentBlockedAt,
  };
}

/** What `verificationChanged` sends: a session opened, a verdict (provider or override), a checkout refused. */
@ObjectType({ description: "A change to a customer's verification: a session opened (PENDING), a verdict (VERIFIED or REJECTED, from the provider or an override), or a checkout it blocked." })
export class VerificationChange {
  @Field(() => ID) customerId!: string;
  @Field(() => ID) verificationId!: string;
  @Field(() => VerificationStatus) status!: VerificationStatus;
  @Field({ description: 'STARTED, VERDICT, OVERRIDDEN or CHECKOUT_BLOCKED.' }) change!: string;
  @Field(() => String, { nullable: true, description: 'REJECTED: why.' }) reason!: string | null;
  @Field() at!: Date;
}

export type VerificationChangeKind = 'STARTED' | 'VERDICT' | 'OVERRIDDEN' | 'CHECKOUT_BLOCKED';

export function verificationChange(row: Verification, change: VerificationChangeKind, at: Date): VerificationChange {
  return { customerId: row.customer.id, verificationId: row.id, status: row.status, change, reason: row.status === VerificationStatus.REJECTED ? row.reason : null, at };
}
