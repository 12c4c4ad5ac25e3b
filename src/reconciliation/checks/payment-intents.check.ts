import { AlertType } from '../../alerts/alert.types';
import { systemActor } from '../../platform/database/transaction';
import { DeliveryStatus } from '../../delivery/delivery-status';
import type { GatewayPaymentIntent } from '../../integrations/stripe/payment-gateway';
import type { FulfilmentCheck } from '../../payments/manual-capture.service';
import { paymentsByIntentOrId, type PaymentFacts } from '../../payments/payment-lookup';
import type { PaymentOperations } from '../../payments/payment-operations.service';
import { PaymentStatus } from '../../payments/payment-status';
import { authorizationVerdict, type DeadlineSettings } from './authorization-deadlines';
import type { CheckContext, CheckOutcome, Finding, ReconciliationCheck } from './check.types';
import { disagreement, holdsMoney } from '../../payments/money-state';
import { noShow, outOfSync, stuckAuthorization, unknownGatewayPayment } from './payment-findings';

const actor = systemActor('reconciliation');

export interface PaymentIntentsCheckDeps {
  operations: PaymentOperations;
  /** CAPTURE_ON=joined: which payments were joined. null: delivered is fulfilled. */
  fulfilled: FulfilmentCheck;
  deadlines: DeadlineSettings;
  /** Ranges the window is split into, paged in parallel. */
  slices: number;
}

interface Held {
  payment: PaymentFacts;
  intent: GatewayPaymentIntent;
}

/**
 * Every PaymentIntent created in the window, from Stripe's list (100 a page, the latest charge
 * expanded), against our payments, one query per page: money state mismatches
 * (PAYMENT_OUT_OF_SYNC), captured money with no payment of ours (UNKNOWN_GATEWAY_PAYMENT), and for
 * authorizations both sides agree on, the no-show release and STUCK_AUTHORIZATION.
 */
export class PaymentIntentsCheck implements ReconciliationCheck {
  readonly name = 'payment_intents';

  constructor(private readonly deps: PaymentIntentsCheckDeps) {}

  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const payments = new Set<string>();
    const intents = new Set<string>();
    let checked = 0;
    await ctx.lister.each((query) => ctx.gateway.listPaymentIntents(query), ctx.window, this.deps.slices, async (page) => {
      checked += page.length;
      await ctx.sink.record(await this.judgePage(ctx, page, payments, intents));
    });
    return {
      counts: { paymentsChecked: checked },
      scopes: [
        { alertType: AlertType.PAYMENT_OUT_OF_SYNC, examined: (id) => payments.has(id), note: 'our payment and Stripe agree again' },
        { alertType: AlertType.STUCK_AUTHORIZATION, examined: (id) => payments.has(id), note: 'no longer an authorization near expiry (captured, released or renewed)' },
        { alertType: AlertType.UNKNOWN_GATEWAY_PAYMENT, examined: (id) => intents.has(id), note: 'the Stripe payment now matches a payment of ours, or was refunded' },
      ],
    };
  }

  private async judgePage(ctx: CheckContext, page: GatewayPaymentIntent[], examined: Set<string>, intents: Set<string>): Promise<Finding[]> {
    const settled = page.filter((intent) => intent.created < ctx.settledBefore);
    const ours = await paymentsByIntentOrId(ctx.db.fork(), settled.map((i) => i.id), settled.flatMap((i) => (i.paymentId ? [i.paymentId] : [])));
    const byIntent = new Map(ours.flatMap((p) => (p.stripePaymentIntentId ? [[p.stripePaymentIntentId, p] as const] : [])));
    const byId = new Map(ours.map((p) => [p.id, p]));
    const findings: Finding[] = [];
    const held: Held[] = [];
    for (const intent of settled) {
      intents.add(intent.id);
      const viaMetadata = intent.paymentId ? byId.get(intent.paymentId) : undefined;
      // Metadata counts only for a payment that never recorded an intent: a second intent for a paid payment is money we do not know about.
      const payment = byIntent.get(intent.id) ?? (viaMetadata && !viaMetadata.stripePaymentIntentId ? viaMetadata : undefined);
      if (!payment) {
        if (holdsMoney(intent)) findings.push(unknownGatewayPayment(intent));
        continue;
      }
      if (payment.statusChangedAt >= ctx.settledBefore) continue;
      examined.add(payment.id);
      const why = disagreement(payment, intent);
      if (why) findings.push(outOfSync(payment, intent, why));
      else if (payment.status === PaymentStatus.AUTHORIZED) held.push({ payment, intent });
    }
    return [...findings, ...(await this.judgeHeld(ctx, held))];
  }

  private async judgeHeld(ctx: CheckContext, held: Held[]): Promise<Finding[]> {
    if (held.length === 0) return [];
    const joined = this.deps.fulfilled ? await this.deps.fulfilled(ctx.db.fork(), held.map((h) => h.payment.id)) : null;
    const findings: Finding[] = [];
    for (const { payment, intent } of held) {
      const fulfilled = joined ? joined.has(payment.id) : payment.deliveryStatus === DeliveryStatus.DELIVERED;
      const authorizedAt = payment.authorizedAt ?? payment.statusChangedAt;
      const { verdict, expiresAt, noShowAt } = authorizationVerdict({ authorizedAt, captureBefore: intent.captureBefore, fulfilled, now: ctx.now }, this.deps.deadlines);
      if (verdict === 'stuck') findings.push(stuckAuthorization({ ...payment, authorizedAt }, intent, expiresAt));
      if (verdict === 'no_show') findings.push(noShow({ ...payment, authorizedAt }, intent, noShowAt, await this.release(ctx, payment, intent, noShowAt)));
    }
    return findings;
  }

  /** Null when released; the reason otherwise (the finding says so and an operator takes over). */
  private async release(ctx: CheckContext, payment: PaymentFacts, intent: GatewayPaymentIntent, noShowAt: Date): Promise<string | null> {
    try {
      const reason = `no-show: access not fulfilled by ${noShowAt.toISOString()}`;
      await this.deps.operations.releaseAuthorization(actor, payment.id, reason, { fresh: intent, gateway: ctx.metered });
      return null;
    } catch (error) {
      return (error as Error).message ?? String(error);
    }
  }
}
