import { Arg, Authorized, Ctx, Field, Float, Int, ObjectType, Query, Resolver } from 'type-graphql';
import type { Context } from '../platform/graphql/context';
import { AnalyticsBucket } from './analytics-buckets';
import type { AnalyticsService, DeliveryPointData, RevenuePointData } from './analytics.service';

const SPAN = 'The first and last WEEK or MONTH point covers only the days of its bucket inside [from, to).';

@ObjectType({ description: `One bucket of revenueSeries, in minor units of the currency asked for. ${SPAN}` })
class RevenuePoint implements RevenuePointData {
  @Field({ description: 'Start of the days this point covers (UTC midnight).' }) bucketStart!: Date;
  @Field({ description: 'End of the days this point covers (exclusive).' }) bucketEnd!: Date;
  @Field(() => Float, { description: 'Amounts of the payments that succeeded in the bucket (each payment once; minor units, a Float because totals may exceed 32 bits).' }) grossMinor!: number;
  @Field(() => Float, { description: 'Refunds recorded in the bucket, whichever day their payment was made (a refund that later failed is taken off on the day it failed).' }) refundedMinor!: number;
  @Field(() => Float, { description: 'grossMinor - refundedMinor.' }) netMinor!: number;
  @Field(() => Int, { description: 'Payments that succeeded in the bucket.' }) payments!: number;
  @Field(() => Int, { description: "Of those, customers' first successful payment." }) firstPurchases!: number;
  @Field(() => Int, { description: 'Of those, renewal charges (payment kind RENEWAL).' }) renewals!: number;
  @Field(() => Int, { description: 'Checkouts created in the bucket.' }) checkoutsStarted!: number;
  @Field(() => Int, { description: 'Of the checkouts created in the bucket, those that have succeeded (so far).' }) checkoutsSucceeded!: number;
  @Field(() => Float, { nullable: true, description: 'checkoutsSucceeded / checkoutsStarted (0 to 1); null when no checkout was started.' }) checkoutSuccessRate!: number | null;
  @Field(() => Int, { description: 'Subscriptions running (ACTIVE or PAST_DUE) at bucketEnd; test subscriptions are not counted.' }) activeSubscriptions!: number;
  @Field(() => Int, { description: 'Subscriptions that lapsed in the bucket (period over, refund, dispute, dunning given up).' }) churned!: number;
}

@ObjectType({ description: `One bucket of deliverySeries. ${SPAN}` })
class DeliveryPoint implements DeliveryPointData {
  @Field({ description: 'Start of the days this point covers (UTC midnight).' }) bucketStart!: Date;
  @Field({ description: 'End of the days this point covers (exclusive).' }) bucketEnd!: Date;
  @Field(() => Int, { description: 'Deliveries that became DELIVERED in the bucket.' }) delivered!: number;
  @Field(() => Int, { description: 'Of those, delivered after a failed attempt or by the recovery sweep.' }) recovered!: number;
  @Field(() => Int, { description: 'Deliveries that became FAILED in the bucket.' }) failed!: number;
  @Field(() => Float, { nullable: true, description: 'Mean seconds from payment to delivery of the deliveries made in the bucket.' }) avgSeconds!: number | null;
  @Field(() => Float, { nullable: true, description: '95th percentile of seconds from payment to delivery, estimated from fixed buckets (as recoveryStats does); null when nothing was delivered.' }) p95Seconds!: number | null;
}

const RANGE = 'from and to are UTC midnights, to after from; at most 400 points (else BAD_USER_INPUT with reason RANGE_TOO_LONG).';

@Resolver()
export class AnalyticsResolver {
  constructor(private readonly analytics: AnalyticsService) {}

  @Authorized('VIEWER')
  @Query(() => [RevenuePoint], { description: `Money, checkouts and subscriptions per UTC bucket over [from, to), one point per bucket, empty ones included. ${RANGE}` })
  revenueSeries(
    @Ctx() ctx: Context,
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Arg('bucket', () => AnalyticsBucket) bucket: AnalyticsBucket,
    @Arg('currency', { description: 'ISO 4217 code, e.g. usd.' }) currency: string,
  ): Promise<RevenuePointData[]> {
    return this.analytics.revenueSeries(ctx.em, { from, to, bucket, currency });
  }

  @Authorized('VIEWER')
  @Query(() => [DeliveryPoint], { description: `Deliveries per UTC bucket over [from, to), one point per bucket, empty ones included. ${RANGE}` })
  deliverySeries(@Ctx() ctx: Context, @Arg('from') from: Date, @Arg('to') to: Date, @Arg('bucket', () => AnalyticsBucket) bucket: AnalyticsBucket): Promise<DeliveryPointData[]> {
    return this.analytics.deliverySeries(ctx.em, { from, to, bucket });
  }
}
