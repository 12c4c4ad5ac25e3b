import { IsOptional, IsUUID, MaxLength } from 'class-validator';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Payment } from '../payments/payment.entity';
import { RetryEventType } from './retry-events';
import { RetryJob, RetryJobStatus } from './retry-job.entity';
import { RetryReason } from './strategies';

export enum QueueRetryOutcome {
  QUEUED = 'QUEUED',
  ALREADY_QUEUED = 'ALREADY_QUEUED',
  NOT_RETRYABLE = 'NOT_RETRYABLE',
  CUSTOMER_ACTION_NEEDED = 'CUSTOMER_ACTION_NEEDED',
}
registerEnumType(QueueRetryOutcome, { name: 'QueueRetryOutcome' });

export enum ChargeOutcome {
  SUCCEEDED = 'SUCCEEDED',
  /** Failed with a retryable error: the queue retries it at nextAttemptAt. */
  QUEUED = 'QUEUED',
  FAILED = 'FAILED',
  CUSTOMER_ACTION_NEEDED = 'CUSTOMER_ACTION_NEEDED',
  /** Still being charged (another worker has it): follow retryEvent or retryStatus. */
  PROCESSING = 'PROCESSING',
  NO_SAVED_CARD = 'NO_SAVED_CARD',
}
registerEnumType(ChargeOutcome, { name: 'ChargeOutcome' });

@InputType()
export class ChargeErrorInput {
  @Field(() => String, { nullable: true, description: 'Stripe error code, e.g. card_declined, processing_error, rate_limit.' })
  @IsOptional() @MaxLength(100) code?: string;
  @Field(() => String, { nullable: true, description: 'Decline code inside card_declined, e.g. insufficient_funds.' })
  @IsOptional() @MaxLength(100) declineCode?: string;
  @Field(() => String, { nullable: true, description: 'Stripe advice_code, e.g. do_not_try_again.' })
  @IsOptional() @MaxLength(100) adviceCode?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(2000) message?: string;
}

@InputType()
export class QueueRetryInput {
  @Field(() => ID) @IsUUID() paymentId!: string;
  @Field(() => ChargeErrorInput) error!: ChargeErrorInput;
}

@InputType()
export class ChargeWithRetryInput {
  @Field(() => ID) @IsUUID() customerId!: string;
  @Field(() => ID) @IsUUID() planId!: string;
}

@InputType()
export class RetryJobFilter {
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() customerId?: string;
  @Field(() => RetryJobStatus, { nullable: true }) status?: RetryJobStatus;
  @Field(() => String, { nullable: true, description: 'Matches the error code or the decline code.' }) @IsOptional() @MaxLength(100) errorCode?: string;
}

@ObjectType()
export class QueueRetryResult {
  @Field(() => QueueRetryOutcome) outcome!: QueueRetryOutcome;
  @Field(() => RetryJob, { nullable: true }) job!: RetryJob | null;
  @Field(() => RetryReason) reason!: RetryReason;
  @Field() message!: string;
}

@ObjectType()
export class ChargeWithRetryResult {
  @Field(() => ChargeOutcome) outcome!: ChargeOutcome;
  @Field(() => Payment, { nullable: true }) payment!: Payment | null;
  @Field(() => RetryJob, { nullable: true }) job!: RetryJob | null;
  @Field(() => Date, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => String, { nullable: true }) message!: string | null;
}

@ObjectType()
export class RetryStatusCount {
  @Field(() => RetryJobStatus) status!: RetryJobStatus;
  @Field(() => Int) count!: number;
}

@ObjectType('RetryAmount')
export class MoneyTotal {
  @Field() currency!: string;
  @Field(() => Float, { description: 'Minor units; a Float because totals may exceed 32 bits.' }) amountMinor!: number;
}

@ObjectType('RetryErrorCodeCount')
export class ErrorCodeCount {
  @Field() code!: string;
  @Field(() => Int) count!: number;
}

@ObjectType()
export class RetryStats {
  @Field(() => [RetryStatusCount]) byStatus!: RetryStatusCount[];
  @Field(() => [MoneyTotal], { description: 'Open jobs, per currency.' }) amountAtRisk!: MoneyTotal[];
  @Field(() => [MoneyTotal], { description: 'Succeeded on a retry, per currency.' }) recoveredAmount!: MoneyTotal[];
  @Field(() => Float, { nullable: true, description: 'recovered / (recovered + exhausted).' }) successRate!: number | null;
  @Field(() => [ErrorCodeCount]) topErrorCodes!: ErrorCodeCount[];
}

@ObjectType()
export class RetryEvent {
  @Field(() => RetryEventType) type!: RetryEventType;
  @Field(() => ID, { nullable: true }) jobId!: string | null;
  @Field(() => ID) paymentId!: string;
  @Field(() => ID) customerId!: string;
  @Field(() => ID, { nullable: true }) subscriptionId!: string | null;
  @Field(() => RetryJobStatus, { nullable: true }) status!: RetryJobStatus | null;
  @Field(() => Int) attempts!: number;
  @Field(() => RetryReason, { nullable: true }) reason!: RetryReason | null;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) declineCode!: string | null;
  @Field(() => String, { nullable: true, description: 'What went wrong, or what the customer was asked to do.' }) message!: string | null;
  @Field(() => Date, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => Int) amountMinor!: number;
  @Field() currency!: string;
  @Field() at!: Date;
}
