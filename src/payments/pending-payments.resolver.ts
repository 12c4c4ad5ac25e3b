import { IsOptional, IsUUID } from 'class-validator';
import { Arg, Args, Authorized, Ctx, Field, ID, InputType, Mutation, Query, Resolver } from 'type-graphql';
import type { Principal } from '../platform/graphql/auth';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, connectionComplexity, paginate } from '../platform/graphql/connection';
import { AppError } from '../platform/shared/errors';
import type { CustomerService } from '../customers/customer.service';
import type { CheckoutAdvice } from './checkout-advice.service';
import { presentCheckout, presentPending } from './checkout.presenter';
import { CanProceedResult, CheckoutResult, CleanupResult, CleanupStats, PendingPaymentsPage } from './checkout.types';
import { Payment } from './payment.entity';
import { OPEN_STATUSES, PaymentStatus } from './payment-status';
import type { PaymentService } from './payment.service';
import type { PendingPayments } from './pending-payments.service';
import type { StaleCleanup } from './stale-cleanup.service';

@InputType()
class CreatePaymentInput {
  @Field(() => ID, { nullable: true, description: 'Required for operators; a customer token always pays for itself.' })
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @Field(() => ID) @IsUUID() planId!: string;

  @Field(() => ID, { nullable: true, description: 'Cancel this open payment for the same bundle first ("cancel and start new").' })
  @IsOptional()
  @IsUUID()
  replacePaymentId?: string;
}

@InputType()
class PendingPaymentsFilter {
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() customerId?: string;
  @Field(() => String, { nullable: true }) phone?: string;
  @Field(() => ID, { nullable: true }) @IsOptional() @IsUUID() bundleId?: string;
  @Field({ nullable: true, description: 'Only payments older than the expiry.' }) staleOnly?: boolean;
}

/** A customer acts only for themselves; staff name the customer. */
function customerScope(principal: Principal | null, requested?: string | null): string {
  if (principal?.role === 'CUSTOMER') {
    if (requested && requested !== principal.subject) throw AppError.forbidden('A customer token acts only for its own customer');
    return principal.subject;
  }
  if (!requested) throw AppError.badInput('customerId is required');
  return requested;
}

const ownCustomer = (principal: Principal | null): string | null => (principal?.role === 'CUSTOMER' ? principal.subject : null);

/** What checkout needs of the Telegram binding (src/access): a one-time link for the customer, null when Telegram is unreachable. */
export interface TelegramDeepLinks {
  deepLinkFor(customerId: string): Promise<{ url: string } | null>;
}

@Resolver()
export class PendingPaymentsResolver {
  constructor(
    private readonly payments: PaymentService,
    private readonly pending: PendingPayments,
    private readonly customers: CustomerService,
    private readonly checkoutAdvice: CheckoutAdvice,
    private readonly staleCleanup: StaleCleanup,
    private readonly telegramBinding: TelegramDeepLinks,
  ) {}

  @Authorized('OPERATOR', 'CUSTOMER')
  @Mutation(() => CheckoutResult, { description: 'Starts a checkout, or explains why not (an open payment for the same bundle).' })
  async createPayment(@Ctx() ctx: Context, @Arg('input', () => CreatePaymentInput) input: CreatePaymentInput): Promise<CheckoutResult> {
    const customerId = customerScope(ctx.principal, input.customerId);
    const result = await this.payments.createPayment(actor(ctx), { ...input, customerId });
    const deepLink = result.outcome === 'CREATED' ? await this.telegramBinding.deepLinkFor(customerId) : null;
    return presentCheckout(result, deepLink?.url ?? null);
  }

  @Authorized('VIEWER', 'CUSTOMER')
  @Query(() => CanProceedResult, { description: 'Whether this customer can start a checkout for the plan now, and what to do if not.' })
  async canProceed(
    @Ctx() ctx: Context,
    @Arg('bundleId', () => ID) bundleId: string,
    @Arg('planId', () => ID) planId: string,
    @Arg('customerId', () => ID, { nullable: true }) customerId?: string,
  ): Promise<CanProceedResult> {
    // An unknown customer is NOT_FOUND, not "nothing blocks" (and a malformed id never reaches Postgres).
    const customer = await this.customers.require(ctx.em, customerScope(ctx.principal, customerId));
    const result = await this.checkoutAdvice.canProceed(ctx.em, customer.id, bundleId, planId);
    return { ...result, conflict: result.conflict ? presentPending(result.conflict) : null, otherPending: result.otherPending.map(presentPending) };
  }

  @Authorized('VIEWER', 'CUSTOMER')
  @Query(() => PendingPaymentsPage, { complexity: connectionComplexity })
  async pendingPayments(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => PendingPaymentsFilter, { nullable: true }) filter?: PendingPaymentsFilter): Promise<PendingPaymentsPage> {
    const pending = this.pending;
    const own = ownCustomer(ctx.principal);
    // As in customerScope: naming another customer is refused, not silently narrowed to one's own.
    if (own && filter?.customerId && filter.customerId !== own) throw AppError.forbidden('A customer token acts only for its own customer');
    const cutoff = pending.staleCutoff();
    const where: Record<string, unknown> = { status: { $in: [...OPEN_STATUSES] } };
    const customerId = own ?? filter?.customerId;
    if (customerId) where.customer = customerId;
    if (!own && filter?.phone) where.customer = { ...(customerId ? { id: customerId } : {}), phone: filter.phone };
    if (filter?.bundleId) where.bundle = filter.bundleId;
    const [connection, stale] = await Promise.all([
      paginate(ctx.em, Payment, filter?.staleOnly ? { ...where, createdAt: { $lt: cutoff } } : where, page),
      ctx.em.count(Payment, { ...where, createdAt: { $lt: cutoff } }),
    ]);
    const total = filter?.staleOnly ? await ctx.em.count(Payment, where) : connection.totalCount;
    return {
      ...connection,
      edges: connection.edges.map((e) => ({ cursor: e.cursor, node: presentPending(pending.view(e.node)) })),
      summary: { total, stale, active: total - stale },
    };
  }

  @Authorized('OPERATOR', 'CUSTOMER')
  @Mutation(() => Payment, { description: 'Cancels an open payment and expires its Stripe Checkout Session. If Stripe says it was already paid, the payment is honoured and returned SUCCEEDED.' })
  async cancelPayment(@Ctx() ctx: Context, @Arg('paymentId', () => ID) paymentId: string): Promise<Payment> {
    const pending = this.pending;
    const payment = await pending.require(ctx.em, paymentId);
    pending.assertOwner(payment, ownCustomer(ctx.principal));
    const { payment: after, outcome } = await pending.close(actor(ctx), paymentId, PaymentStatus.CANCELLED, 'cancelled on request');
    if (outcome === 'not_open') throw AppError.conflict(`Payment ${paymentId} is ${after.status}: only open payments can be cancelled`, { status: after.status });
    return after;
  }

  @Authorized('OPERATOR', 'CUSTOMER')
  @Mutation(() => CleanupResult, { description: "Expires this customer's stale open payments now." })
  async cleanupStalePayments(@Ctx() ctx: Context, @Arg('customerId', () => ID, { nullable: true }) customerId?: string): Promise<CleanupResult> {
    const target = await this.customers.require(ctx.em, customerScope(ctx.principal, customerId));
    return this.staleCleanup.run(actor(ctx), ctx.principal?.role === 'CUSTOMER' ? 'customer' : 'operator', target.id);
  }

  @Authorized('OPERATOR')
  @Mutation(() => CleanupResult, { description: 'Runs the stale-payment cleanup now, for everyone.' })
  forceCleanup(@Ctx() ctx: Context): Promise<CleanupResult> {
    return this.staleCleanup.run(actor(ctx), 'operator');
  }

  @Authorized('VIEWER')
  @Query(() => CleanupStats)
  cleanupStats(@Ctx() ctx: Context): Promise<CleanupStats> {
    return this.checkoutAdvice.cleanupStats(ctx.em);
  }
}
