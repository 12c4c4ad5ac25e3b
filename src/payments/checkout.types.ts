import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo as PageInfoRef } from '../platform/graphql/connection';
import { Payment } from './payment.entity';
import { VerificationRequirement } from '../verification/verification.types';

export enum CheckoutOutcomeEnum {
  CREATED = 'CREATED',
  PENDING_SAME_BUNDLE = 'PENDING_SAME_BUNDLE',
  ALREADY_PAID = 'ALREADY_PAID',
  VERIFICATION_REQUIRED = 'VERIFICATION_REQUIRED',
}
registerEnumType(CheckoutOutcomeEnum, {
  name: 'CheckoutOutcome',
  description: 'CREATED: pay at payment.checkoutUrl. PENDING_SAME_BUNDLE: an open payment for this bundle exists; complete it or cancel it and start new. ALREADY_PAID: the stale payment turned out paid. VERIFICATION_REQUIRED: the plan requires KYC / e-sign first: no payment was created; see verification.',
});

export enum PaymentActionType {
  COMPLETE = 'COMPLETE',
  CANCEL = 'CANCEL',
  CANCEL_AND_START_NEW = 'CANCEL_AND_START_NEW',
}
registerEnumType(PaymentActionType, { name: 'PaymentActionType' });

@ObjectType({ description: 'Something the customer can do about an open payment.' })
export class PaymentAction {
  @Field(() => PaymentActionType) type!: PaymentActionType;
  @Field() label!: string;
  @Field(() => ID) paymentId!: string;
  @Field(() => String, { nullable: true, description: 'COMPLETE: the Stripe Checkout page.' }) url!: string | null;
  @Field(() => String, { nullable: true, description: 'The mutation that performs it (none for COMPLETE: open the url).' }) mutation!: string | null;
}

@ObjectType({ description: 'An open (unpaid, still payable) payment with its age and the ways forward.' })
export class PendingPayment {
  @Field(() => Payment) payment!: Payment;
  @Field(() => Int) ageMinutes!: number;
  @Field(() => Int, { description: 'Until the payment is expired as stale.' }) minutesRemaining!: number;
  @Field() stale!: boolean;
  @Field(() => [PaymentAction]) actions!: PaymentAction[];
}

@ObjectType()
export class CheckoutResult {
  @Field(() => CheckoutOutcomeEnum) outcome!: CheckoutOutcomeEnum;
  @Field() message!: string;
  @Field(() => Payment, { nullable: true }) payment!: Payment | null;
  @Field(() => PendingPayment, { nullable: true }) conflict!: PendingPayment | null;
  @Field(() => [PendingPayment], { description: 'Open payments for other bundles: they do not block.' }) warnings!: PendingPayment[];
  @Field(() => String, { nullable: true, description: 'CREATED: a one-time link (t.me/<bot>?start=<token>) that links the customer\'s Telegram account so invite links can reach them. Null when Telegram could not be asked for the bot\'s name.' })
  telegramDeepLink!: string | null;
  @Field(() => VerificationRequirement, { nullable: true, description: 'VERIFICATION_REQUIRED: the status, the steps left and where to complete them.' })
  verification!: VerificationRequirement | null;
}

@ObjectType()
export class CanProceedResult {
  @Field() canProceed!: boolean;
  @Field({ description: 'PROCEED, PROCEED_AFTER_EXPIRING_STALE, COMPLETE_OR_CANCEL_PENDING, NOT_ON_SALE' }) recommendation!: string;
  @Field() message!: string;
  @Field(() => PendingPayment, { nullable: true }) conflict!: PendingPayment | null;
  @Field(() => [PendingPayment]) otherPending!: PendingPayment[];
}

@ObjectType()
export class PendingSummary {
  @Field(() => Int) total!: number;
  @Field(() => Int) active!: number;
  @Field(() => Int) stale!: number;
}

@ObjectType()
export class PendingPaymentEdge {
  @Field(() => PendingPayment) node!: PendingPayment;
  @Field() cursor!: string;
}

@ObjectType()
export class PendingPaymentsPage {
  @Field(() => [PendingPaymentEdge]) edges!: PendingPaymentEdge[];
  @Field(() => PageInfoRef) pageInfo!: PageInfoRef;
  @Field(() => Int) totalCount!: number;
  @Field(() => PendingSummary) summary!: PendingSummary;
}

@ObjectType()
export class CleanupResult {
  @Field(() => ID) runId!: string;
  @Field(() => Int) expired!: number;
  @Field(() => Int, { description: 'Stale payments Stripe said were paid: honoured instead of expired.' }) foundPaid!: number;
  @Field(() => Int) errors!: number;
  @Field(() => Int) refundsRetried!: number;
}

@ObjectType()
export class CleanupStats {
  @Field(() => Int) runs!: number;
  @Field(() => Int) expiredTotal!: number;
  @Field(() => Int) expiredLastRun!: number;
  @Field(() => Date, { nullable: true }) lastRunAt!: Date | null;
  @Field(() => Int) errorsTotal!: number;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Int, { description: 'Open payments older than the expiry right now; above zero after a run means cleanup is behind.' }) staleNow!: number;
  @Field({ description: 'HEALTHY, DEGRADED (errors in the last run or stale payments waiting), PAUSED (job disabled) or NEVER_RUN' }) health!: string;
}
