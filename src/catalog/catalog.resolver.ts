import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Bundle } from './bundle.entity';
import { BundleInput, ChannelInput, PlanInput } from './catalog.input';
import type { CatalogService } from './catalog.service';
import { Channel } from './channel.entity';
import { Plan } from './plan.entity';

const ChannelConnection = ConnectionType(Channel, 'Channel');
const BundleConnection = ConnectionType(Bundle, 'Bundle');
const PlanConnection = ConnectionType(Plan, 'Plan');

function requireFields(input: object, fields: string[], what: string): void {
  const missing = fields.filter((f) => (input as Record<string, unknown>)[f] === undefined);
  if (missing.length > 0) throw AppError.badInput(`A new ${what} needs ${missing.join(', ')}`, { missing });
}

@Resolver()
export class CatalogResolver {
  constructor(private readonly catalog: CatalogService) {}

  @Authorized('VIEWER')
  @Query(() => ChannelConnection, { complexity: connectionComplexity })
  channels(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    return paginate(ctx.em, Channel, {}, page);
  }

  @Authorized('VIEWER')
  @Query(() => BundleConnection, { complexity: connectionComplexity })
  bundles(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    return paginate(ctx.em, Bundle, {}, page);
  }

  @Authorized('VIEWER')
  @Query(() => PlanConnection, { complexity: connectionComplexity })
  plans(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('bundleId', () => ID, { nullable: true }) bundleId?: string) {
    if (bundleId && !isUuid(bundleId)) throw AppError.badInput('bundleId must be a UUID', { bundleId });
    return paginate(ctx.em, Plan, bundleId ? { bundle: bundleId } : {}, page);
  }

  @Authorized('ADMIN')
  @Mutation(() => Channel)
  createChannel(@Ctx() ctx: Context, @Arg('input', () => ChannelInput) input: ChannelInput): Promise<Channel> {
    requireFields(input, ['telegramChatId', 'title'], 'channel');
    return this.catalog.saveChannel(actor(ctx), null, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Channel)
  updateChannel(@Ctx() ctx: Context, @Arg('id', () => ID) id: string, @Arg('input', () => ChannelInput) input: ChannelInput): Promise<Channel> {
    return this.catalog.saveChannel(actor(ctx), id, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Bundle)
  createBundle(@Ctx() ctx: Context, @Arg('input', () => BundleInput) input: BundleInput): Promise<Bundle> {
    requireFields(input, ['name'], 'bundle');
    return this.catalog.saveBundle(actor(ctx), null, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Bundle)
  updateBundle(@Ctx() ctx: Context, @Arg('id', () => ID) id: string, @Arg('input', () => BundleInput) input: BundleInput): Promise<Bundle> {
    return this.catalog.saveBundle(actor(ctx), id, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Plan)
  createPlan(@Ctx() ctx: Context, @Arg('input', () => PlanInput) input: PlanInput): Promise<Plan> {
    requireFields(input, ['bundleId', 'name', 'amountMinor', 'currency', 'durationDays'], 'plan');
    return this.catalog.savePlan(actor(ctx), null, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Plan)
  updatePlan(@Ctx() ctx: Context, @Arg('id', () => ID) id: string, @Arg('input', () => PlanInput) input: PlanInput): Promise<Plan> {
    return this.catalog.savePlan(actor(ctx), id, input);
  }
}

@Resolver(() => Bundle)
export class BundleFieldsResolver {
  constructor(private readonly catalog: CatalogService) {}

  @FieldResolver(() => [Channel])
  channels(@Root() bundle: Bundle, @Ctx() ctx: Context): Promise<Channel[]> {
    return this.catalog.channelsOf(ctx.em, bundle.id);
  }
}

@Resolver(() => Plan)
export class PlanFieldsResolver {
  @FieldResolver(() => Bundle)
  bundle(@Root() plan: Plan, @Ctx() ctx: Context): Promise<Bundle> {
    return ctx.em.findOneOrFail(Bundle, plan.bundle.id);
  }

  @FieldResolver(() => String, { description: 'The bundle this plan sells.' })
  bundleId(@Root() plan: Plan): string {
    return plan.bundle.id;
  }
}
