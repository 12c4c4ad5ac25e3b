import { Arg, Args, Authorized, Ctx, Field, ID, InputType, Int, ObjectType, Query, Mutation, Resolver, Root, Subscription } from 'type-graphql';

import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Alert } from './alert.entity';
import { AlertSeverity, AlertType, SEVERITY_RANK, severitiesAtLeast } from './alert.types';
import type { AlertPayload, AlertService } from './alert.service';

const AlertConnection = ConnectionType(Alert, 'Alert');

@InputType()
class AlertFilter {
  @Field({ nullable: true, description: 'true: open only; false: resolved only; omitted: both.' })
  open?: boolean;

  @Field(() => AlertSeverity, { nullable: true })
  minSeverity?: AlertSeverity;

  @Field(() => [AlertType], { nullable: true })
  types?: AlertType[];

  @Field(() => String, { nullable: true })
  subjectId?: string;
}

@ObjectType()
class SeverityCount {
  @Field(() => AlertSeverity) severity!: AlertSeverity;
  @Field(() => Int) count!: number;
}

@ObjectType()
class TypeCount {
  @Field(() => AlertType) type!: AlertType;
  @Field(() => Int) count!: number;
}

@ObjectType()
class AlertSummary {
  @Field(() => Int) totalOpen!: number;
  @Field(() => [SeverityCount], { description: 'Open alerts per severity, worst first.' }) bySeverity!: SeverityCount[];
  @Field(() => [TypeCount]) byType!: TypeCount[];
}

@Resolver(() => Alert)
export class AlertResolver {
  constructor(private readonly alertService: AlertService) {}

  @Authorized('VIEWER')
  @Query(() => AlertConnection, { complexity: connectionComplexity })
  async alerts(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => AlertFilter, { nullable: true }) filter?: AlertFilter) {
    const where: Record<string, unknown> = {};
    if (filter?.open !== undefined) where.resolvedAt = filter.open ? null : { $ne: null };
    if (filter?.minSeverity) where.severity = { $in: severitiesAtLeast(filter.minSeverity) };
    if (filter?.types?.length) where.type = { $in: filter.types };
    if (filter?.subjectId) where.subjectId = filter.subjectId;
    return paginate(ctx.em, Alert, where, page);
  }

  @Authorized('VIEWER')
  @Query(() => Alert, { nullable: true })
  async alert(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<Alert | null> {
    return isUuid(id) ? ctx.em.findOne(Alert, id) : null;
  }

  @Authorized('VIEWER')
  @Query(() => AlertSummary)
  async alertSummary(@Ctx() ctx: Context): Promise<AlertSummary> {
    const counts = await this.alertService.openCountsBySeverity(ctx.em);
    const bySeverity = (Object.keys(SEVERITY_RANK) as AlertSeverity[]).map((severity) => ({ severity, count: counts[severity] }));
    return {
      totalOpen: bySeverity.reduce((sum, s) => sum + s.count, 0),
      bySeverity,
      byType: await this.alertService.openCountsByType(ctx.em),
    };
  }

  @Authorized('OPERATOR')
  @Mutation(() => Alert, { description: 'Resolves an open alert. Resolving a resolved alert returns it unchanged.' })
  async resolveAlert(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('note', () => String, { nullable: true }) note?: string,
  ): Promise<Alert> {
    if (note && note.length > 2000) throw AppError.badInput('note must be at most 2000 characters');
    return this.alertService.resolve(actor(ctx), id, note ?? null);
  }

  @Authorized('VIEWER')
  @Subscription(() => Alert, {
    topics: Topic.ALERT_RAISED,
    description: 'New alerts as they are raised, at or above minSeverity.',
    filter: ({ payload, args }: { payload: AlertPayload; args: { minSeverity?: AlertSeverity } }) =>
      !args.minSeverity || SEVERITY_RANK[payload.severity] >= SEVERITY_RANK[args.minSeverity],
  })
  alertRaised(@Root() payload: AlertPayload, @Arg('minSeverity', () => AlertSeverity, { nullable: true }) _minSeverity?: AlertSeverity): AlertPayload {
    return payload;
  }

  @Authorized('VIEWER')
  @Subscription(() => Alert, {
    topics: Topic.ALERT_RESOLVED,
    description: 'Alerts as they are resolved, by an operator or automatically. detail and resolutionNote are cut to 1,000 characters here; alert(id) has them whole.',
  })
  alertResolved(@Root() payload: AlertPayload): AlertPayload {
    return payload;
  }
}
