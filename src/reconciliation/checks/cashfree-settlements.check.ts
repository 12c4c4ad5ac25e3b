import { PaymentGatewayName } from '../../catalog/plan.entity';
import type { CashfreeGateway } from '../../integrations/cashfree/cashfree.gateway';
import type { PayoutService } from '../payout.service';
import type { CheckContext, CheckOutcome, ReconciliationCheck } from './check.types';
import { recordPayoutPage } from './payouts.check';

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
      statusChanges += await recordPayoutPage(ctx, this.payouts, page, PaymentGatewayName.CASHFREE);
    }, this.pageSize);
    return { counts: { payoutStatusChanges: statusChanges } };
  }
}
