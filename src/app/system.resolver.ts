import { Arg, Authorized, Ctx, Field, Int, Mutation, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { recordAudit } from '../audit/audit.service';
import type { Database } from '../platform/database/transaction';
import { actor, type Context } from '../platform/graphql/context';
import type { Scheduler } from '../platform/jobs/scheduler';
import type { HealthService } from './health.service';

enum GatewayMode { LIVE = 'LIVE', TEST = 'TEST', SANDBOX = 'SANDBOX' }
enum PubSubMode { MEMORY = 'MEMORY', POSTGRES = 'POSTGRES' }
registerEnumType(GatewayMode, { name: 'GatewayMode', description: 'SANDBOX: built-in fake Stripe and Telegram on loopback.' });
registerEnumType(PubSubMode, { name: 'PubSubMode' });

@ObjectType()
class ComponentHealth {
  @Field() ok!: boolean;
  @Field(() => Int) latencyMs!: number;
  @Field(() => String, { nullable: true }) error!: string | null;
}

@ObjectType()
class SchedulerHealth extends ComponentHealth {
  @Field({ description: 'postgres or mongo' }) backend!: string;
}

@ObjectType()
class TelegramHealth extends ComponentHealth {
  @Field(() => String, { nullable: true, description: "The bot's @username, from getMe." }) botUsername!: string | null;
}

@ObjectType()
export class JobHealth {
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => String, { nullable: true }) schedule!: string | null;
  @Field() enabled!: boolean;
  @Field() running!: boolean;
  @Field(() => Date, { nullable: true }) lastRunAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastFinishedAt!: Date | null;
  @Field(() => Date, { nullable: true }) nextRunAt!: Date | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Date, { nullable: true }) lastErrorAt!: Date | null;
}

@ObjectType()
class SystemHealth {
  @Field({ description: 'Database and scheduler reachable.' }) ok!: boolean;
  @Field(() => ComponentHealth) database!: ComponentHealth;
  @Field(() => SchedulerHealth) scheduler!: SchedulerHealth;
  @Field(() => TelegramHealth, { description: 'Bot API check (getMe: token valid, API reachable); not counted in ok.' }) telegram!: TelegramHealth;
  @Field(() => [JobHealth]) jobs!: JobHealth[];
  @Field(() => GatewayMode) gatewayMode!: GatewayMode;
  @Field(() => PubSubMode) pubsubMode!: PubSubMode;
  @Field({ description: 'True when running against the built-in fake Stripe and Telegram.' }) sandbox!: boolean;
  @Field() checkedAt!: Date;
}

@Resolver()
export class SystemResolver {
  constructor(
    private readonly health: HealthService,
    private readonly scheduler: Scheduler,
    private readonly db: Database,
  ) {}

  @Authorized('VIEWER')
  @Query(() => SystemHealth)
  systemHealth(): Promise<SystemHealth> {
    return this.health.report() as Promise<SystemHealth>;
  }

  @Authorized('ADMIN')
  @Mutation(() => JobHealth, { description: 'Pauses (false) or resumes (true) a scheduled job on every instance.' })
  async setJobEnabled(@Ctx() ctx: Context, @Arg('name') name: string, @Arg('enabled') enabled: boolean): Promise<JobHealth> {
    const status = await this.scheduler.setEnabled(name, enabled);
    await this.db.transaction(async (tx) => {
      recordAudit(tx, actor(ctx), { action: enabled ? 'job.enable' : 'job.disable', subjectType: 'job', subjectId: name, after: { enabled } });
    });
    return status;
  }
}
