import { Arg, Args, Authorized, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver, Root, Subscription as GqlSubscription } from 'type-graphql';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { AppError } from '../platform/shared/errors';
import { Topic } from '../platform/shared/topics';
import type { AccessQueries } from './access-query.service';
import { InviteLink } from './invite-link.entity';
import { Subscription, SubscriptionStatus } from './subscription.entity';
import type { TestLinkService } from './test-link.service';

const SubscriptionConnection = ConnectionType(Subscription, 'CustomerSubscription');

@InputType()
class SubscriptionFilter {
  @Field(() => ID, { nullable: true }) customerId?: string;
  @Field(() => ID, { nullable: true }) bundleId?: string;
  @Field(() => SubscriptionStatus, { nullable: true }) status?: SubscriptionStatus;
}

@ObjectType()
class ChannelAccess {
  @Field(() => ID) channelId!: string;
  @Field() title!: string;
  @Field(() => String, { nullable: true, description: 'The customer’s open invite link, while it can still be used.' }) inviteLink!: string | null;
  @Field({ description: 'NONE, OPEN, USED, EXPIRED or REVOKED' }) linkStatus!: string;
}

@ObjectType()
class SubscriptionAccess {
  @Field(() => Subscription) subscription!: Subscription;
  @Field() bundleName!: string;
  @Field(() => [ChannelAccess]) channels!: ChannelAccess[];
}

@ObjectType()
class CustomerAccess {
  @Field(() => ID) customerId!: string;
  @Field() telegramLinked!: boolean;
  @Field() anonymized!: boolean;
  @Field(() => [SubscriptionAccess]) subscriptions!: SubscriptionAccess[];
}

@ObjectType()
class AccessStats {
  @Field(() => Int) active!: number;
  @Field(() => Int) pastDue!: number;
  @Field(() => Int) expiringIn7Days!: number;
  @Field(() => Int) lapsedToday!: number;
  @Field(() => Int) removalsPending!: number;
  @Field(() => Int) removalsFailed!: number;
}

@ObjectType()
class AccessChange {
  @Field(() => ID) customerId!: string;
  @Field(() => ID) bundleId!: string;
  @Field(() => ID) subscriptionId!: string;
  @Field({ description: 'ACTIVE, PAST_DUE, LAPSED or REMOVED' }) status!: string;
  @Field() at!: Date;
}

type AccessChangePayload = AccessChange;

@Resolver()
export class AccessResolver {
  constructor(
    private readonly accessQueries: AccessQueries,
    private readonly testLinks: TestLinkService,
  ) {}

  @Authorized('VIEWER')
  @Query(() => SubscriptionConnection, { complexity: connectionComplexity })
  subscriptions(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => SubscriptionFilter, { nullable: true }) filter?: SubscriptionFilter) {
    const where: Record<string, unknown> = {};
    if (filter?.customerId) where.customer = filter.customerId;
    if (filter?.bundleId) where.bundle = filter.bundleId;
    if (filter?.status) where.status = filter.status;
    return paginate(ctx.em, Subscription, where, page);
  }

  @Authorized('VIEWER', 'CUSTOMER')
  @Query(() => CustomerAccess, { description: 'Channels, links and subscription status of one customer; a customer token reads only its own.' })
  customerAccess(@Ctx() ctx: Context, @Arg('customerId', () => ID) customerId: string): Promise<CustomerAccess> {
    if (ctx.principal?.role === 'CUSTOMER' && ctx.principal.subject !== customerId) throw AppError.notFound('Customer', customerId);
    return this.accessQueries.customerAccess(ctx.em, customerId);
  }

  @Authorized('VIEWER')
  @Query(() => AccessStats)
  accessStats(@Ctx() ctx: Context): Promise<AccessStats> {
    return this.accessQueries.stats(ctx.em);
  }

  @Authorized('ADMIN')
  @Mutation(() => InviteLink, { description: 'A real single-use invite link whose member is removed again after expiresIn ("90s", "2m", "1h").' })
  createTestInviteLink(@Ctx() ctx: Context, @Arg('channelId', () => ID) channelId: string, @Arg('expiresIn') expiresIn: string): Promise<InviteLink> {
    return this.testLinks.create(actor(ctx), channelId, expiresIn);
  }

  @Authorized('VIEWER', 'CUSTOMER')
  @GqlSubscription(() => AccessChange, {
    topics: Topic.ACCESS_CHANGED,
    description: 'Subscriptions created, extended, lapsed or removed; a customer token sees only its own.',
    filter: ({ payload, args, context }: { payload: AccessChangePayload; args: { customerId?: string }; context: Context }) =>
      (context.principal?.role !== 'CUSTOMER' || payload.customerId === context.principal.subject) && (!args.customerId || payload.customerId === args.customerId),
  })
  accessChanged(@Root() payload: AccessChangePayload, @Arg('customerId', () => ID, { nullable: true }) _customerId?: string): AccessChangePayload {
    return payload;
  }
}
