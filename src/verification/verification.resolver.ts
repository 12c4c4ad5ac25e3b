import { IsOptional, IsUUID, Length, Matches } from 'class-validator';
import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver, Root, Subscription } from 'type-graphql';
import { Plan } from '../catalog/plan.entity';
import { Customer } from '../customers/customer.entity';
import type { Principal } from '../platform/graphql/auth';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { AppError } from '../platform/shared/errors';
import { Verification, VerificationStatus } from './verification.entity';
import { Topic } from '../platform/shared/topics';
import { CustomerVerification, presentVerification, VerificationChange, VerificationRequirement } from './verification.types';
import type { VerificationService } from './verification.service';

/** A customer blocked at checkout by a verification still PENDING or REJECTED. */
@ObjectType({ description: 'A customer who tried to pay for a plan that requires verification and is not VERIFIED.' })
export class VerificationCase {
  @Field(() => ID, { description: 'The verification session.' }) id!: string;
  @Field(() => Customer) customer!: Customer;
  @Field(() => CustomerVerification) verification!: CustomerVerification;
  @Field(() => Plan, { nullable: true, description: 'The plan of the last checkout refused.' }) plan!: Plan | null;
  @Field(() => Date, { description: 'When a checkout was last refused for it.' }) blockedAt!: Date;
}

const VerificationCaseConnection = ConnectionType(VerificationCase, 'VerificationCase');

@ArgsType()
class OverrideVerificationArgs {
  @Field(() => ID) @IsUUID() customerId!: string;
  @Field(() => VerificationStatus, { description: 'VERIFIED or REJECTED.' }) status!: VerificationStatus;
  @Field({ description: 'Why (1-2000 characters): kept in the audit trail.' }) @Length(1, 2000) note!: string;
  @Field(() => String, { nullable: true, description: 'VERIFIED: the terms version the override covers (default: the session\'s).' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: 'termsVersion must be 1-100 of A-Z, a-z, 0-9, ., _ and -' })
  termsVersion?: string;
}

/** As createPayment: a customer token acts only for itself; staff name the customer. */
function customerScope(principal: Principal | null, requested?: string | null): string {
  if (principal?.role === 'CUSTOMER') {
    if (requested && requested !== principal.subject) throw AppError.forbidden('A customer token acts only for its own customer');
    return principal.subject;
  }
  if (!requested) throw AppError.badInput('customerId is required');
  return requested;
}

@Resolver(() => Customer)
export class CustomerVerificationResolver {
  constructor(private readonly verificationService: VerificationService) {}

  @FieldResolver(() => CustomerVerification, { description: 'KYC / e-sign state (NONE when never asked).' })
  verification(@Root() customer: Customer, @Ctx() ctx: Context): Promise<CustomerVerification> {
    return this.verificationService.view(ctx.em, customer.id);
  }
}

@Resolver(() => VerificationCase)
export class VerificationResolver {
  constructor(private readonly verification: VerificationService) {}

  @Authorized('OPERATOR', 'CUSTOMER')
  @Mutation(() => VerificationRequirement, { description: "Opens (or finds again) the customer's verification session for a plan that requires it: where to complete it, and what is left. Already VERIFIED: status VERIFIED, nothing left." })
  startVerification(
    @Ctx() ctx: Context,
    @Arg('planId', () => ID) planId: string,
    @Arg('customerId', () => ID, { nullable: true, description: 'Required for operators; a customer token always acts for itself.' }) customerId?: string,
  ): Promise<VerificationRequirement> {
    return this.verification.start(actor(ctx), customerScope(ctx.principal, customerId), planId);
  }

  @Authorized('ADMIN')
  @Mutation(() => CustomerVerification, { description: "Sets a customer's verification verdict by hand (audited with the note). The provider's later events for that session change nothing." })
  overrideVerification(@Ctx() ctx: Context, @Args() args: OverrideVerificationArgs): Promise<CustomerVerification> {
    return this.verification.override(actor(ctx), args.customerId, args.status, args.note, args.termsVersion);
  }

  @Authorized('VIEWER')
  @Query(() => VerificationCaseConnection, { complexity: connectionComplexity, description: 'Customers blocked at checkout by a verification still PENDING or REJECTED, newest session first.' })
  async customersAwaitingVerification(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    const connection = await paginate(ctx.em, Verification, { current: true, status: { $ne: VerificationStatus.VERIFIED }, paymentBlockedAt: { $ne: null } }, page);
    return {
      ...connection,
      edges: connection.edges.map(({ node, cursor }) => ({
        cursor,
        node: { id: node.id, customer: node.customer.id, plan: node.plan?.id ?? null, verification: presentVerification(node), blockedAt: node.paymentBlockedAt! },
      })),
    };
  }

  @Authorized('VIEWER', 'CUSTOMER')
  @Subscription(() => VerificationChange, {
    topics: Topic.VERIFICATION_CHANGED,
    description: "Verification sessions opened, verdicts (provider or override) and checkouts refused for one customer, or for all when customerId is omitted; a customer token sees only its own.",
    filter: ({ payload, args, context }: { payload: VerificationChange; args: { customerId?: string }; context: Context }) =>
      (context.principal?.role !== 'CUSTOMER' || payload.customerId === context.principal.subject) && (!args.customerId || payload.customerId === args.customerId),
  })
  verificationChanged(@Root() payload: VerificationChange, @Arg('customerId', () => ID, { nullable: true }) _customerId?: string): VerificationChange {
    return payload;
  }

  @FieldResolver(() => Customer)
  customer(@Root() row: { customer: string }, @Ctx() ctx: Context): Promise<Customer> {
    return ctx.em.findOneOrFail(Customer, row.customer);
  }

  @FieldResolver(() => Plan, { nullable: true })
  plan(@Root() row: { plan: string | null }, @Ctx() ctx: Context): Promise<Plan | null> {
    return row.plan ? ctx.em.findOne(Plan, row.plan) : Promise.resolve(null);
  }
}
