import { MaxLength } from 'class-validator';
import { Arg, Args, Authorized, Ctx, Field, FieldResolver, Float, ID, InputType, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription, registerEnumType } from 'type-graphql';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import type { Database } from '../platform/database/transaction';
import { Payment } from '../payments/payment.entity';
import { Topic } from '../platform/shared/topics';
import { DeliveryStatus } from './delivery-status';
import { Delivery } from './delivery.entity';
import type { DeliveryStatusChangedPayload } from './delivery.service';
import type { DeliveryAdmin, RecoveryResult } from './delivery-admin.service';
import type { SweepReport as SweepReportData } from './recovery-sweep';
import type { RecoveryStatsService, RecoveryStatsSnapshot } from './recovery-stats.service';

/** The delivery states an operator looks into: everything but DELIVERED. */
enum UndeliveredStatus {
  FAILED = 'FAILED',
  AWAITING_CUSTOMER = 'AWAITING_CUSTOMER',
  PENDING = 'PENDING',
  IN_PROGRESS = 'IN_PROGRESS',
}
registerEnumType(UndeliveredStatus, { name: 'UndeliveredStatus' });

const FailedDeliveryConnection = ConnectionType(Payment, 'FailedDelivery');

@InputType()
class FailedDeliveriesFilter {
  @Field(() => UndeliveredStatus, { defaultValue: UndeliveredStatus.FAILED })
  status: UndeliveredStatus = UndeliveredStatus.FAILED;

  @Field(() => String, { nullable: true, description: "Part of the customer's name, email, phone or Telegram id." })
  @MaxLength(200)
  search?: string;
}

@ObjectType()
class RecoveryStats implements RecoveryStatsSnapshot {
  @Field(() => Int, { description: 'Payments that became paid (they have a delivery state).' }) successfulPayments!: number;
  @Field(() => Int) delivered!: number;
  @Field(() => Int) failedDeliveries!: number;
  @Field(() => Int, { description: 'Links ready; waiting for the customer to start the bot.' }) awaitingCustomer!: number;
  @Field(() => Int, { description: 'PENDING or IN_PROGRESS.' }) pendingDeliveries!: number;
  @Field(() => Int, { description: 'Delivered after a failed or missed attempt.' }) recovered!: number;
  @Field(() => Float, { nullable: true, description: 'delivered / successfulPayments (0 to 1).' }) deliverySuccessRate!: number | null;
  @Field(() => Float, { nullable: true, description: 'recovered / (recovered + failedDeliveries) (0 to 1).' }) recoverySuccessRate!: number | null;
  @Field(() => Float, { nullable: true, description: 'Mean seconds from payment to delivery.' }) avgSecondsToDelivery!: number | null;
  @Field(() => Float, { nullable: true, description: '95th percentile of seconds from payment to delivery.' }) p95SecondsToDelivery!: number | null;
  @Field() computedAt!: Date;
}

@ObjectType()
class DeliveryOutcome {
  @Field(() => ID) paymentId!: string;
  @Field(() => DeliveryStatus) status!: DeliveryStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => String, { nullable: true, description: 'Why the last attempt did not deliver.' }) reason!: string | null;
}

@ObjectType()
class PaymentRecoveryResult implements RecoveryResult {
  @Field(() => ID) paymentId!: string;
  @Field() ok!: boolean;
  @Field(() => DeliveryStatus, { nullable: true }) status!: DeliveryStatus | null;
  @Field(() => Int, { nullable: true }) attempts!: number | null;
  @Field(() => String, { nullable: true, description: 'NOT_FOUND, CONFLICT…, when ok is false.' }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) message!: string | null;
}

@ObjectType()
class SweepReport implements SweepReportData {
  // reopenedFailed: what processFailedDeliveries adds to the sweep's own counts.
  @Field(() => Int) claimed!: number;
  @Field(() => Int) delivered!: number;
  @Field(() => Int) retrying!: number;
  @Field(() => Int) awaitingCustomer!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int) durationMs!: number;
  @Field(() => Int, { description: 'FAILED deliveries of still-paid payments given a fresh retry budget before the sweep ran (at most 100 per call).' }) reopenedFailed!: number;
}

@ObjectType()
class DeliveryStatusChange {
  @Field(() => ID) paymentId!: string;
  @Field(() => ID) customerId!: string;
  @Field(() => DeliveryStatus, { nullable: true }) from!: DeliveryStatus | null;
  @Field(() => DeliveryStatus) to!: DeliveryStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field() recovered!: boolean;
  @Field() at!: Date;
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

@Resolver()
export class DeliveryResolver {
  constructor(
    private readonly recoveryStatsService: RecoveryStatsService,
    private readonly deliveryAdmin: DeliveryAdmin,
  ) {}

  @Authorized('VIEWER')
  @Query(() => RecoveryStats)
  recoveryStats(@Ctx() ctx: Context): Promise<RecoveryStatsSnapshot> {
    return this.recoveryStatsService.compute(ctx.em);
  }

  @Authorized('VIEWER')
  @Query(() => FailedDeliveryConnection, { complexity: connectionComplexity, description: 'Paid payments whose delivery is not done, newest first.' })
  failedDeliveries(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => FailedDeliveriesFilter, { nullable: true }) filter?: FailedDeliveriesFilter) {
    // Payments whose delivery is in that state, through deliveries_attention (FAILED, AWAITING) or deliveries_due.
    const owing = ctx.em.createQueryBuilder(Delivery, 'd').select('d.paymentId').where({ status: filter?.status ?? UndeliveredStatus.FAILED });
    const where: Record<string, unknown> = { id: { $in: owing.getKnexQuery() } };
    const search = filter?.search?.trim();
    if (search) {
      const like = { $ilike: `%${escapeLike(search)}%` };
      where.customer = { $or: [{ name: like }, { email: like }, { phone: like }, { telegramUserId: like }] };
    }
    return paginate(ctx.em, Payment, where, page);
  }

  @Authorized('OPERATOR')
  @Mutation(() => DeliveryOutcome, { description: 'Gives a paid, undelivered payment a fresh retry budget and attempts delivery now.' })
  recoverPayment(@Ctx() ctx: Context, @Arg('paymentId', () => ID) paymentId: string): Promise<DeliveryOutcome> {
    return this.deliveryAdmin.recoverOne(actor(ctx), paymentId);
  }

  @Authorized('OPERATOR')
  @Mutation(() => [PaymentRecoveryResult], { description: 'recoverPayment for up to 100 payments; a result per distinct id, errors included.' })
  recoverPayments(@Ctx() ctx: Context, @Arg('paymentIds', () => [ID]) paymentIds: string[]): Promise<RecoveryResult[]> {
    return this.deliveryAdmin.recoverMany(actor(ctx), paymentIds);
  }

  @Authorized('OPERATOR')
  @Mutation(() => SweepReport, { description: 'Gives FAILED deliveries a fresh retry budget (at most 100, audited), runs the recovery sweep now and answers its counts.' })
  processFailedDeliveries(@Ctx() ctx: Context): Promise<SweepReportData & { reopenedFailed: number }> {
    return this.deliveryAdmin.forceSweep(actor(ctx));
  }

  @Authorized('VIEWER')
  @Subscription(() => DeliveryStatusChange, {
    topics: Topic.DELIVERY_STATUS_CHANGED,
    description: 'Delivery status changes of one payment, or of all payments when paymentId is omitted.',
    filter: ({ payload, args }: { payload: DeliveryStatusChangedPayload; args: { paymentId?: string } }) => !args.paymentId || payload.paymentId === args.paymentId,
  })
  deliveryStatusChanged(@Root() payload: DeliveryStatusChangedPayload, @Arg('paymentId', () => ID, { nullable: true }) _paymentId?: string): DeliveryStatusChangedPayload {
    return payload;
  }

  @Authorized('VIEWER')
  @Subscription(() => RecoveryStats, {
    topics: Topic.RECOVERY_STATS_UPDATED,
    description: 'Fresh recoveryStats whenever deliveries change, at most once a second per Recoup instance.',
  })
  recoveryStatsUpdated(@Root() stats: RecoveryStatsSnapshot): RecoveryStatsSnapshot {
    return stats;
  }
}

@Resolver(() => DeliveryStatusChange)
export class DeliveryStatusChangeResolver {
  constructor(private readonly db: Database) {}

  @FieldResolver(() => Payment, { nullable: true, description: 'The payment as it is now.' })
  payment(@Root() change: DeliveryStatusChangedPayload): Promise<Payment | null> {
    // A subscription's context em lives as long as the subscription; its identity map would answer
    // every later event with the payment as the first event loaded it. A fresh fork reads it now.
    return this.db.fork().findOne(Payment, change.paymentId);
  }
}
