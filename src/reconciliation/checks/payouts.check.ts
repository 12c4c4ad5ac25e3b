import { PaymentGatewayName } from '../../catalog/plan.entity';
import type { GatewayPayout } from '../../integrations/stripe/payment-gateway';
import { FindingType } from '../reconciliation-finding.entity';
import type { PayoutService } from '../payout.service';
import type { CheckContext, CheckOutcome, Finding, ReconciliationCheck } from './check.types';

/**
 * Every payout created in the window, from Stripe's list: our copy's status is brought up to
 * date, and a payout we see failed for the first time is a FAILED_PAYOUT finding with its alert
 * (the same alert the payout.failed webhook raises, so the two never make two). A failure we
 * already knew of is not found again: failed is final, and its alert was raised then.
 */
export class PayoutsCheck implements ReconciliationCheck {
  readonly name = 'payouts';

  constructor(private readonly payouts: PayoutService) {}

  async run(ctx: CheckContext): Promise<CheckOutcome> {
    let statusChanges = 0;
    await ctx.lister.each((query) => ctx.gateway.listPayouts(query), ctx.window, 1, async (page) => {
      statusChanges += await recordPayoutPage(ctx, this.payouts, page, PaymentGatewayName.STRIPE);
    });
    return { counts: { payoutStatusChanges: statusChanges } };
  }
}

/**
 * One page of a gateway's payouts (Stripe payouts, Cashfree settlements) recorded in one
 * transaction; a payout seen failed for the first time is a FAILED_PAYOUT finding. Answers how
 * many payouts changed status.
 */
export async function recordPayoutPage(ctx: CheckContext, payouts: PayoutService, page: GatewayPayout[], gateway: PaymentGatewayName): Promise<number> {
  let statusChanges = 0;
  const what = gateway === PaymentGatewayName.CASHFREE ? 'Cashfree settlement of ' : '';
  const findings: Finding[] = [];
  await ctx.db.transaction(async (tx) => {
    for (const seen of page) {
      const change = await payouts.record(tx, seen, true, gateway);
      if (change.changed) statusChanges++;
      if (seen.status !== 'failed' || change.previousStatus === 'failed') continue;
      findings.push({
        type: FindingType.FAILED_PAYOUT,
        subjectType: 'payout',
        subjectId: seen.id,
        detail: `${what}${seen.amountMinor} ${seen.currency.toUpperCase()} failed: ${seen.failureCode ?? 'no code'} — ${seen.failureMessage ?? 'no message'}`,
        action: change.previousStatus ? `status ${change.previousStatus} -> failed` : 'recorded',
        data: { gateway, amountMinor: seen.amountMinor, currency: seen.currency, failureCode: seen.failureCode, failureMessage: seen.failureMessage, previousStatus: change.previousStatus },
        raised: change.alert ? { ...change.alert, fingerprint: `FAILED_PAYOUT:payout:${seen.id}` } : undefined,
      });
    }
  });
  await ctx.sink.record(findings);
  return statusChanges;
}
