import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AlertType } from '../alerts/alert.types';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, connectionComplexity, paginate } from '../platform/graphql/connection';
import { isUuid } from '../platform/shared/ids';
import { Payout } from './payout.entity';
import { FindingType, ReconciliationFinding } from './reconciliation-finding.entity';
import { ReconciliationRun } from './reconciliation-run.entity';
import { paymentIssues } from './reconciliation-queries';
import type { ReconciliationService } from './reconciliation.service';
import { PaymentIssueConnection, PayoutConnection, ReconciliationFindingConnection, ReconciliationRunConnection } from './reconciliation.types';

@Resolver(() => ReconciliationRun)
export class ReconciliationResolver {
  constructor(private readonly reconciliation: ReconciliationService) {}

  @Authorized('OPERATOR')
  @Mutation(() => ReconciliationRun, { description: 'Starts a reconciliation against Stripe now. wait: false (default) answers at once with the RUNNING run; poll reconciliationRun(id). CONFLICT while another run is in progress.' })
  runReconciliation(
    @Ctx() ctx: Context,
    @Arg('windowDays', () => Int, { nullable: true, description: 'Default RECONCILIATION_WINDOW_DAYS (30).' }) windowDays?: number,
    @Arg('wait', () => Boolean, { defaultValue: false }) wait?: boolean,
  ): Promise<ReconciliationRun> {
    const trigger = actor(ctx);
    return wait ? this.reconciliation.run(trigger, windowDays ?? undefined) : this.reconciliation.runInBackground(trigger, windowDays ?? undefined);
  }

  @Authorized('VIEWER')
  @Query(() => ReconciliationRunConnection, { complexity: connectionComplexity, description: 'Reconciliation runs, newest first.' })
  reconciliationRuns(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    return paginate(ctx.em, ReconciliationRun, {}, page);
  }

  @Authorized('VIEWER')
  @Query(() => ReconciliationRun, { nullable: true })
  reconciliationRun(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<ReconciliationRun | null> {
    return isUuid(id) ? ctx.em.findOne(ReconciliationRun, id) : Promise.resolve(null);
  }

  @FieldResolver(() => ReconciliationFindingConnection, { complexity: connectionComplexity, description: "This run's findings, newest first." })
  findings(@Root() run: ReconciliationRun, @Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('type', () => FindingType, { nullable: true }) type?: FindingType) {
    return paginate(ctx.em, ReconciliationFinding, type ? { run: run.id, type } : { run: run.id }, page);
  }

  @Authorized('VIEWER')
  @Query(() => PaymentIssueConnection, { complexity: connectionComplexity, description: "Payments whose money state disagrees with Stripe's (open PAYMENT_OUT_OF_SYNC alerts)." })
  outOfSyncPayments(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    return paymentIssues(ctx.em, AlertType.PAYMENT_OUT_OF_SYNC, page);
  }

  @Authorized('VIEWER')
  @Query(() => PaymentIssueConnection, { complexity: connectionComplexity, description: 'Authorizations close to expiry and not captured (open STUCK_AUTHORIZATION alerts).' })
  stuckAuthorizations(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    return paymentIssues(ctx.em, AlertType.STUCK_AUTHORIZATION, page);
  }

  @Authorized('VIEWER')
  @Query(() => PayoutConnection, { complexity: connectionComplexity, description: 'Payouts that failed (Stripe payouts and Cashfree settlements, see gateway), newest first.' })
  failedPayouts(@Ctx() ctx: Context, @Args() page: ConnectionArgs) {
    return paginate(ctx.em, Payout, { status: 'failed' }, page);
  }
}
