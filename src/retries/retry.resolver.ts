import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { actor, type Context } from '../platform/graphql/context';
import { Payment } from '../payments/payment.entity';
import { Topic } from '../platform/shared/topics';
import { RetryAttempt } from './retry-attempt.entity';
import { RetryEventType, type RetryEventPayload } from './retry-events';
import { RetryJob, RetryJobStatus } from './retry-job.entity';
import type { RetryQueue } from './retry-queue.service';
import type { RetryRequests } from './retry-requests.service';
import { retryStats } from './retry-stats';
import { ChargeOutcome, ChargeWithRetryInput, ChargeWithRetryResult, QueueRetryInput, QueueRetryOutcome, QueueRetryResult, RetryEvent, RetryJobFilter, RetryStats } from './retry.types';
import { STRATEGIES } from './strategies';

const RetryJobConnection = ConnectionType(RetryJob, 'RetryJob');

function chargeOutcome(job: RetryJob | null): ChargeOutcome {
  if (!job) return ChargeOutcome.NO_SAVED_CARD;
  if (job.status === RetryJobStatus.EXHAUSTED && job.reason && STRATEGIES[job.reason].customerMessage) return ChargeOutcome.CUSTOMER_ACTION_NEEDED;
  const byStatus: Record<RetryJobStatus, ChargeOutcome> = {
    SUCCEEDED: ChargeOutcome.SUCCEEDED,
    QUEUED: ChargeOutcome.QUEUED,
    PROCESSING: ChargeOutcome.PROCESSING,
    EXHAUSTED: ChargeOutcome.FAILED,
    CANCELLED: ChargeOutcome.FAILED,
  };
  return byStatus[job.status as RetryJobStatus];
}

interface RetryEventArgs {
  paymentId?: string;
  customerId?: string;
  types?: RetryEventType[];
}

@Resolver(() => RetryJob)
export class RetryResolver {
  constructor(
    private readonly retryRequests: RetryRequests,
    private readonly retryQueue: RetryQueue,
  ) {}

  @Authorized('OPERATOR')
  @Mutation(() => QueueRetryResult, { description: 'Queues a failed payment for retry with the strategy its error calls for.' })
  async queueRetry(@Ctx() ctx: Context, @Arg('input', () => QueueRetryInput) input: QueueRetryInput): Promise<QueueRetryResult> {
    const { error } = input;
    const result = await this.retryRequests.queueRetry(actor(ctx), {
      paymentId: input.paymentId,
      error: { code: error.code ?? null, declineCode: error.declineCode ?? null, adviceCode: error.adviceCode ?? null, message: error.message ?? null },
    });
    return { ...result, outcome: result.outcome as QueueRetryOutcome };
  }

  @Authorized('OPERATOR')
  @Mutation(() => ChargeWithRetryResult, { description: "Charges the customer's saved card for the plan now; a retryable failure is queued and said so." })
  async chargeWithRetry(@Ctx() ctx: Context, @Arg('input', () => ChargeWithRetryInput) input: ChargeWithRetryInput): Promise<ChargeWithRetryResult> {
    const { payment, job, message } = await this.retryRequests.chargeWithRetry(actor(ctx), input);
    return { outcome: chargeOutcome(job), payment, job, nextAttemptAt: job?.nextAttemptAt ?? null, message };
  }

  @Authorized('OPERATOR')
  @Mutation(() => RetryJob, { description: 'Cancels the queued retry of a payment (not one whose charge is in flight).' })
  cancelRetry(@Ctx() ctx: Context, @Arg('paymentId', () => ID) paymentId: string): Promise<RetryJob> {
    return this.retryQueue.cancel(actor(ctx), paymentId);
  }

  @Authorized('VIEWER')
  @Query(() => RetryJob, { nullable: true, description: "The payment's latest retry job, open or finished." })
  retryStatus(@Ctx() ctx: Context, @Arg('paymentId', () => ID) paymentId: string): Promise<RetryJob | null> {
    return this.retryQueue.latest(ctx.em, paymentId);
  }

  @Authorized('VIEWER')
  @Query(() => RetryJobConnection, { complexity: connectionComplexity })
  retryJobs(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('filter', () => RetryJobFilter, { nullable: true }) filter?: RetryJobFilter) {
    const where: Record<string, unknown> = {};
    if (filter?.customerId) where.customer = filter.customerId;
    if (filter?.status) where.status = filter.status;
    if (filter?.errorCode) where.$or = [{ errorCode: filter.errorCode }, { declineCode: filter.errorCode }];
    return paginate(ctx.em, RetryJob, where, page);
  }

  @Authorized('VIEWER')
  @Query(() => RetryStats)
  retryStats(@Ctx() ctx: Context): Promise<RetryStats> {
    return retryStats(ctx.em);
  }

  @FieldResolver(() => [RetryAttempt], { description: 'Every charge sent, oldest first.' })
  attemptHistory(@Root() job: RetryJob, @Ctx() ctx: Context): Promise<RetryAttempt[]> {
    return ctx.em.find(RetryAttempt, { job: job.id }, { orderBy: { attempt: 'asc' } });
  }

  @FieldResolver(() => Payment)
  payment(@Root() job: RetryJob, @Ctx() ctx: Context): Promise<Payment> {
    return ctx.em.findOneOrFail(Payment, job.payment.id);
  }

  @Authorized('VIEWER')
  @Subscription(() => RetryEvent, {
    topics: Topic.RETRY_EVENT,
    description: 'Retry queue events as they happen, optionally for one payment or customer, or some types.',
    filter: ({ payload, args }: { payload: RetryEventPayload; args: RetryEventArgs }) =>
      (!args.paymentId || payload.paymentId === args.paymentId) &&
      (!args.customerId || payload.customerId === args.customerId) &&
      (!args.types?.length || args.types.includes(payload.type)),
  })
  retryEvent(
    @Root() payload: RetryEventPayload,
    @Arg('paymentId', () => ID, { nullable: true }) _paymentId?: string,
    @Arg('customerId', () => ID, { nullable: true }) _customerId?: string,
    @Arg('types', () => [RetryEventType], { nullable: true }) _types?: RetryEventType[],
  ): RetryEventPayload {
    return payload;
  }
}

