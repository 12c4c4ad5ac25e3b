import { ArrayMaxSize, IsIn, IsInt, IsOptional, IsUUID, Length, Matches, Max, Min } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { CaptureMode, PaymentGatewayName } from './plan.entity';

@InputType()
export class ChannelInput {
  @Field({ nullable: true, description: 'Telegram chat id, e.g. -1001234567890.' })
  @IsOptional()
  @Matches(/^-?\d{1,20}$/, { message: 'telegramChatId must be a numeric Telegram chat id' })
  telegramChatId?: string;

  @Field({ nullable: true }) @IsOptional() @Length(1, 200) title?: string;
  @Field({ nullable: true }) requiresApproval?: boolean;
}

@InputType()
export class BundleInput {
  @Field({ nullable: true }) @IsOptional() @Length(1, 200) name?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @Length(0, 2000) description?: string | null;
  @Field({ nullable: true }) active?: boolean;
  @Field(() => [ID], { nullable: true }) @IsOptional() @ArrayMaxSize(200) @IsUUID('all', { each: true }) channelIds?: string[];
}

@InputType()
export class PlanInput {
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() bundleId?: string;
  @Field({ nullable: true }) @IsOptional() @Length(1, 200) name?: string;
  @Field(() => Int, { nullable: true, description: 'Price in minor units (cents).' }) @IsOptional() @IsInt() @Min(50) @Max(99_999_999) amountMinor?: number;
  @Field({ nullable: true, description: 'ISO 4217 code, e.g. usd.' }) @IsOptional() @Matches(/^[A-Za-z]{3}$/) currency?: string;
  @Field(() => Int, { nullable: true }) @IsOptional() @IsInt() @Min(1) @Max(3660) durationDays?: number;
  @Field(() => CaptureMode, { nullable: true }) @IsOptional() @IsIn(Object.values(CaptureMode)) captureMode?: CaptureMode;
  @Field(() => PaymentGatewayName, { nullable: true, description: 'STRIPE unless said. CASHFREE takes only AUTOMATIC capture and two-decimal currencies.' })
  @IsOptional()
  @IsIn(Object.values(PaymentGatewayName))
  gateway?: PaymentGatewayName;
  @Field({ nullable: true }) active?: boolean;
  @Field({ nullable: true, description: 'Checkout needs KYC (and the e-signature of termsVersion, when set) first.' }) requiresVerification?: boolean;
  @Field(() => String, { nullable: true, description: 'The version of the terms a customer must e-sign before paying, e.g. "2026-12"; null clears it (KYC only).' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'termsVersion must be 1-100 of A-Z, a-z, 0-9, ., _ and -, starting with a letter or digit' })
  termsVersion?: string | null;
}
