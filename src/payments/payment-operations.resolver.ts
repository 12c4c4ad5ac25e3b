import { Arg, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import { actor, type Context } from '../platform/graphql/context';
import { Payment } from './payment.entity';
import type { PaymentOperations } from './payment-operations.service';
import { Refund } from './refund.entity';
import type { Refunds } from './refund.service';

@ObjectType()
class RefundResult {
  @Field(() => Refund) refund!: Refund;
  @Field(() => Payment, { description: 'The payment after the refund: REFUNDED once nothing is left.' }) payment!: Payment;
}

/** Operator actions on a payment. Each re-reads the PaymentIntent from Stripe first and is audited. */
@Resolver(() => Payment)
export class PaymentOperationsResolver {
  constructor(
    private readonly paymentOperations: PaymentOperations,
    private readonly refundService: Refunds,
  ) {}

  @Authorized('OPERATOR')
  @Mutation(() => Payment, { description: 'Captures an authorized (manual-capture) payment. One Stripe already captured counts as captured.' })
  capturePayment(@Ctx() ctx: Context, @Arg('paymentId', () => ID) paymentId: string): Promise<Payment> {
    return this.paymentOperations.capturePayment(actor(ctx), paymentId);
  }

  @Authorized('OPERATOR')
  @Mutation(() => Payment, { description: "Brings our record to Stripe's current state, through the state machine (status, then refunds)." })
  syncPaymentWithGateway(@Ctx() ctx: Context, @Arg('paymentId', () => ID) paymentId: string): Promise<Payment> {
    return this.paymentOperations.syncPaymentWithGateway(actor(ctx), paymentId);
  }

  @Authorized('OPERATOR')
  @Mutation(() => Payment, { description: 'Releases an authorization (cancels the PaymentIntent): the hold ends, the payment is CANCELLED and its access ends.' })
  releaseAuthorization(
    @Ctx() ctx: Context,
    @Arg('paymentId', () => ID) paymentId: string,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
  ): Promise<Payment> {
    return this.paymentOperations.releaseAuthorization(actor(ctx), paymentId, reason?.slice(0, 500) || 'released by an operator');
  }

  @Authorized('OPERATOR')
  @Mutation(() => RefundResult, { description: 'Refunds amountMinor (omitted: all that is left), never more than is left. A full refund ends the access it paid for. Retrying after a timeout repeats the same refund, not a second one; so does the same request (operator, amount, reason) again within 10 minutes, e.g. a double-click: it answers the refund it made. A refund that failed at Stripe no longer counts as refunded: what it did not give back can be refunded again, also on a REFUNDED payment.' })
  async refundPayment(
    @Ctx() ctx: Context,
    @Arg('paymentId', () => ID) paymentId: string,
    @Arg('reason', () => String) reason: string,
    @Arg('amountMinor', () => Int, { nullable: true }) amountMinor?: number,
  ): Promise<RefundResult> {
    return this.refundService.refundPayment(actor(ctx), paymentId, amountMinor ?? null, reason);
  }

  @FieldResolver(() => [Refund], { description: 'Refunds asked for through Recoup, oldest first.' })
  refunds(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Refund[]> {
    return this.refundService.refundsOf(ctx.em, payment.id);
  }
}
