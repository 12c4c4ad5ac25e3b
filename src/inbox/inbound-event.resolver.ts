import { Arg, Args, Authorized, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { GatewayEvent } from './gateway-event.entity';
import type { WebhookIntake } from './webhook-intake.service';

/** The gateway an event came from; the values are the stored `gateway` column. */
export enum InboundEventSource {
  STRIPE = 'stripe',
  CASHFREE = 'cashfree',
  TELEGRAM = 'telegram',
  VERIFICATION = 'verification',
}
registerEnumType(InboundEventSource, { name: 'InboundEventSource', description: 'The gateway that sent a webhook event (or, for Telegram, an update fetched by long polling); verification: the KYC / e-sign provider.' });

/**
 * A stored webhook event (the inbox, table gateway_events) as an operator sees it: what it is,
 * whether it was applied and how applying it went. Never its payload, which may hold personal data.
 */
@ObjectType({ description: 'A webhook event as stored in the inbox and applied from there. The payload is not exposed (it may hold personal data).' })
export class InboundEvent {
  @Field(() => ID) id!: string;
  @Field(() => InboundEventSource) source!: InboundEventSource;
  @Field({ description: "The gateway's own id of the event (Stripe evt_…, Telegram update_id; Cashfree sends none: type, order and attempt, refund or dispute)." }) eventId!: string;
  @Field({ description: 'The event type, e.g. payment_intent.succeeded, or the Telegram update kind.' }) type!: string;
  @Field() receivedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When applying it committed; null while it is not applied.' }) appliedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'What applying it did (e.g. "PENDING -> SUCCEEDED", "ignored: …", "skipped: …").' }) outcome!: string | null;
  @Field(() => Int, { description: 'Attempts made to apply it (since the last replay).' }) attempts!: number;
  @Field(() => String, { nullable: true, description: 'Why the last attempt failed (a safe message); null once applied.' }) lastError!: string | null;
  @Field(() => Date, { nullable: true, description: 'When it is next tried (or the end of the current attempt\'s lease); null once applied or given up.' }) nextAttemptAt!: Date | null;
  @Field({ description: 'Not applied and no attempt left (or refused for good when stored): only a replay (or a redelivery) applies it now.' }) gaveUp!: boolean;
}

const InboundEventConnection = ConnectionType(InboundEvent, 'InboundEvent');

@InputType()
class InboundEventFilter {
  @Field(() => InboundEventSource, { nullable: true })
  source?: InboundEventSource;

  @Field(() => String, { nullable: true, description: 'Exact event type, e.g. payment_intent.succeeded.' })
  type?: string;

  @Field({ nullable: true, description: 'true: applied only; false: not applied (yet) only.' })
  applied?: boolean;

  @Field({ nullable: true, description: 'true: not applied and the last attempt failed, including those given up; false: the others.' })
  failed?: boolean;
}

export function toInboundEvent(row: GatewayEvent): InboundEvent {
  return {
    id: row.id,
    source: row.gateway as InboundEventSource,
    eventId: row.eventId,
    type: row.type,
    receivedAt: row.receivedAt,
    appliedAt: row.processedAt,
    outcome: row.outcome,
    attempts: row.attempts,
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt,
    // Unprocessed rows always have a next attempt (due now, backoff or a lease) until they are given up or refused.
    gaveUp: row.processedAt === null && row.nextAttemptAt === null,
  };
}

function whereOf(filter: InboundEventFilter | undefined): Record<string, unknown> {
  const conditions: Array<Record<string, unknown>> = [];
  if (filter?.source) conditions.push({ gateway: filter.source });
  if (filter?.type) conditions.push({ type: filter.type });
  if (filter?.applied !== undefined && filter.applied !== null) conditions.push({ processedAt: filter.applied ? { $ne: null } : null });
  if (filter?.failed !== undefined && filter.failed !== null) {
    conditions.push(filter.failed ? { processedAt: null, lastError: { $ne: null } } : { $or: [{ processedAt: { $ne: null } }, { lastError: null }] });
  }
  return conditions.length === 0 ? {} : { $and: conditions };
}

/** The inbox for operators: the stored webhook events, newest first, and replaying one. */
@Resolver(() => InboundEvent)
export class InboundEventResolver {
  constructor(private readonly intake: WebhookIntake) {}

  @Authorized('VIEWER')
  @Query(() => InboundEventConnection, { complexity: connectionComplexity, description: 'Stored webhook events, newest first.' })
  async inboundEvents(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => InboundEventFilter, { nullable: true }) filter?: InboundEventFilter) {
    const connection = await paginate(ctx.em, GatewayEvent, whereOf(filter), page, { exclude: ['payload'] });
    return { ...connection, edges: connection.edges.map(({ node, cursor }) => ({ node: toInboundEvent(node), cursor })) };
  }

  @Authorized('ADMIN')
  @Mutation(() => InboundEvent, {
    description:
      'Applies a stored event again now, through the same applier and rules as the retry sweep, and answers it afterwards. One not applied yet (failed, given up or waiting) gets its attempts back first (audited as inbound_event.replay); a failure is recorded on it as on any attempt (see lastError). One already applied is never applied twice: it is answered unchanged.',
  })
  async replayInboundEvent(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<InboundEvent> {
    return toInboundEvent(await this.intake.replay(actor(ctx), id));
  }
}
