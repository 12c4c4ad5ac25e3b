import { PaymentGatewayName } from '../../catalog/plan.entity';
import type { CashfreeGateway } from '../../integrations/cashfree/cashfree.gateway';
import { FindingType } from '../reconciliation-finding.entity';
import type { PayoutService } from '../payout.service';
import type { CheckContext, CheckOutcome, Finding, ReconciliationCheck } from './check.types';

/**
 * Cashfree's settlements (its payouts to our bank) initiated in the window, cursor-paged: recorded
 * as payouts (gateway CASHFREE) like Stripe's in PayoutsCheck, and one seen failed for the first
 * time is a FAILED_PAYOUT finding with the same alert a failed Stripe payout raises.
 */
export class CashfreeSettlementsCheck implements ReconciliationCheck {
  readonly name = 'cashfree_settlements';

  constructor(
    private readonly cashfree: CashfreeGateway,
    private readonly payouts: PayoutService,
    private readonly pageSize = 100,
  ) {}

  async run(ctx: CheckContext): Promise<CheckOutcome> {
    let statusChanges = 0;
    const list = (cursor: string | null, limit: number) => this.cashfree.listSettlements({ start: ctx.window.start, end: ctx.window.end, cursor, limit });
    await ctx.lister.eachCursor(list, async (page) => {
      const findings: Finding[] = [];
      await ctx.db.transaction(async (tx) => {
        for (const seen of page) {
          const change = await this.payouts.record(tx, seen, true, PaymentGatewayName.CASHFREE);
          if (change.changed) statusChanges++;
          if (seen.status !== 'failed' || change.previousStatus === 'failed') continue;
          findings.push({
            type: FindingType.FAILED_PAYOUT,
            subjectType: 'payout',
            subjectId: seen.id,
            detail: `Cashfree settlement of ${seen.amountMinor} ${seen.currency.toUpperCase()} failed: ${seen.failureMessage ?? 'no reason given'}`,
            action: change.previousStatus ? `status ${change.previousStatus} -> failed` : 'recorded',
            data: { gateway: 'CASHFREE', amountMinor: seen.amountMinor, currency: seen.currency, failureCode: seen.failureCode, failureMessage: seen.failureMessage, previousStatus: change.previousStatus },
            raised: change.alert ? { ...change.alert, fingerprint: `FAILED_PAYOUT:payout:${seen.id}` } : undefined,
          });
        }
      });
      await ctx.sink.record(findings);
    }, this.pageSize);
    return { counts: { payoutStatusChanges: statusChanges } };
  }
}
