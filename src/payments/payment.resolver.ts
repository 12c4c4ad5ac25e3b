import { Arg, Args, Authorized, Ctx, Field, FieldResolver, ID, InputType, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import type { Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { isUuid } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Payment } from './payment.entity';
import { paymentIdsByGatewayId } from './payment-lookup';
import { PaymentStatus } from './payment-status';
import type { PaymentStatusChangedPayload } from './payment-transitions.service';

const PaymentConnection = ConnectionType(Payment, 'Payment');

@InputType()
class PaymentFilter {
  @Field(() => [PaymentStatus], { nullable: true }) statuses?: PaymentStatus[];
  @Field(() => ID, { nullable: true }) customerId?: string;
  @Field(() => ID, { nullable: true }) bundleId?: string;
  @Field(() => Date, { nullable: true }) createdAfter?: Date;
  @Field(() => Date, { nullable: true }) createdBefore?: Date;
  @Field(() => String, { nullable: true, description: "Any Stripe id of the payment, as copied from Stripe's dashboard: its PaymentIntent (pi_), Checkout Session (cs_), charge (ch_, py_), refund (re_) or dispute (dp_, du_)." })
  gatewayId?: string;
}

@ObjectType()
class PaymentStatusChange {
  @Field(() => ID) paymentId!: string;
  @Field(() => ID) customerId!: string;
  @Field(() => PaymentStatus) from!: PaymentStatus;
  @Field(() => PaymentStatus) to!: PaymentStatus;
  @Field(() => Date) at!: Date;
  @Field({ description: 'Who made the change: operator:<sub>, system:<component>…' }) actor!: string;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

@Resolver(() => PaymentStatusChange)
export class PaymentStatusChangeResolver {
  @FieldResolver(() => Payment, { nullable: true, description: 'The payment as it is now.' })
  async payment(@Root() change: PaymentStatusChangedPayload, @Ctx() ctx: Context): Promise<Payment | null> {
    return ctx.em.findOne(Payment, change.paymentId);
  }
}

@Resolver(() => Payment)
export class PaymentResolver {
  constructor(private readonly gateway: PaymentGateway) {}

  @Authorized('VIEWER')
  @Query(() => Payment, { nullable: true })
  async payment(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<Payment | null> {
    return isUuid(id) ? ctx.em.findOne(Payment, id) : null;
  }

  @Authorized('VIEWER')
  @Query(() => PaymentConnection, { complexity: connectionComplexity })
  async payments(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => PaymentFilter, { nullable: true }) filter?: PaymentFilter) {
    const where: Record<string, unknown> = {};
    if (filter?.statuses?.length) where.status = { $in: filter.statuses };
    if (filter?.customerId) where.customer = isUuid(filter.customerId) ? filter.customerId : null;
    if (filter?.bundleId) where.bundle = isUuid(filter.bundleId) ? filter.bundleId : null;
    if (filter?.gatewayId) where.id = { $in: await paymentIdsByGatewayId(ctx.em, this.gateway, filter.gatewayId) };
    if (filter?.createdAfter || filter?.createdBefore) {
      where.createdAt = { ...(filter.createdAfter && { $gte: filter.createdAfter }), ...(filter.createdBefore && { $lt: filter.createdBefore }) };
    }
    return paginate(ctx.em, Payment, where, page);
  }

  @FieldResolver(() => Customer)
  async customer(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Customer> {
    return ctx.em.findOneOrFail(Customer, payment.customer.id);
  }

  @FieldResolver(() => Plan)
  async plan(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Plan> {
    return ctx.em.findOneOrFail(Plan, payment.plan.id);
  }

  @Authorized('VIEWER')
  @Subscription(() => PaymentStatusChange, {
    topics: Topic.PAYMENT_STATUS_CHANGED,
    description: 'Status changes of one payment, or of all payments when paymentId is omitted.',
    filter: ({ payload, args }: { payload: PaymentStatusChangedPayload; args: { paymentId?: string } }) =>
      !args.paymentId || payload.paymentId === args.paymentId,
  })
  paymentStatusChanged(
    @Root() payload: PaymentStatusChangedPayload,
    @Arg('paymentId', () => ID, { nullable: true }) _paymentId?: string,
  ): PaymentStatusChangedPayload {
    return payload;
  }
}
