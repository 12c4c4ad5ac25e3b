import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Tx } from '../platform/database/transaction';
import type { Payment } from './payment.entity';
import type { PaymentRef, PaymentSync } from './payment-sync.service';
import type { GatewayEvent } from '../inbox/gateway-event.entity';
import { stripeFact, STRIPE_FACT_EVENT_TYPES, type StripeRef } from '../integrations/stripe/facts';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { mapPayout } from '../integrations/stripe/stripe.mappers';
import type { StripeApply } from './stripe-apply/context';
import { checkoutCompleted, checkoutExpired } from './stripe-apply/checkout';
import { intentChanged, intentSucceeded } from './stripe-apply/intent';
import { chargeRefunded, disputeCreated } from './stripe-apply/charge';
import { disputeClosed } from './stripe-apply/dispute';
import { refundFailed } from './stripe-apply/refund-failed';
import { annotateSpan, PAYMENT_ID } from '../platform/observability/spans';
import { applyPaidBatch, type BatchApplied } from './stripe-apply/paid-batch';

/** Records payouts and raises payout.failed (HIGH) and payout.canceled (MEDIUM) alerts. */
export interface PayoutEvents {
  applyEvent(tx: Tx, payout: ReturnType<typeof mapPayout>, eventType: string): Promise<string>;
}

/** Every event type apply() acts on: the nightly reconciliation replays undelivered ones of these. */
export const HANDLED_EVENT_TYPES = STRIPE_FACT_EVENT_TYPES;

const paymentRef = (ref: StripeRef): PaymentRef => ({ paymentId: ref.paymentId, stripePaymentIntentId: ref.intentId, stripeCheckoutSessionId: ref.sessionId });

/**
 * Applies Stripe events to payments: stripeFact() says what the event states, and each kind of
 * fact becomes PaymentSync calls (src/payments/stripe-apply/). Events may arrive twice or out of
 * order. Where the order matters (a failure, cancel, authorization or expiry that may already be
 * stale: the fact's `reRead`) the object is re-read from Stripe instead of trusting the event's
 * snapshot; a success is final and is applied from the event itself.
 * https://docs.stripe.com/webhooks#event-ordering
 *
 * Money is never taken from an event that does not fit the payment (checkEventMoney: a refund
 * total above its amount, a negative or fractional figure, another currency): the object is
 * re-read, Stripe's figures are recorded (or nothing, when they do not fit either) and a HIGH
 * WEBHOOK_MONEY_MISMATCH alert is raised. A failed re-read throws, so the event is retried.
 */
export class StripeEventHandler {
  private readonly ctx: StripeApply;

  constructor(
    private readonly gateway: PaymentGateway,
    private readonly sync: PaymentSync,
    private readonly alerts: AlertService,
    private readonly payouts?: PayoutEvents,
  ) {
    this.ctx = { gateway, sync, alerts };
  }

  async apply(tx: Tx, record: GatewayEvent): Promise<string> {
    // The stored payload is the verified event (src/inbox); only src/integrations/stripe knows its SDK type.
    const fact = stripeFact(record.payload as unknown as Parameters<typeof stripeFact>[0]);
    const ctx = this.ctx;
    switch (fact.kind) {
      case 'CheckoutCompleted':
        return this.withPayment(tx, fact.ref, (p) => checkoutCompleted(ctx, tx, p, fact));
      case 'CheckoutExpired':
        return this.withPayment(tx, fact.ref, (p) => checkoutExpired(ctx, tx, p, fact));
      case 'PaymentSucceeded':
        // Applied from the event alone (no call to Stripe in between), so the payment is locked as it is found.
        return this.withPayment(tx, fact.ref, (p) => intentSucceeded(ctx, tx, p, fact), { lock: true });
      case 'PaymentFailed':
      case 'Canceled':
      case 'Authorized':
        return this.withPayment(tx, fact.ref, (p) => intentChanged(ctx, tx, p, fact));
      case 'Refunded':
        return this.withPayment(tx, fact.ref, (p) => chargeRefunded(ctx, tx, p, fact));
      case 'Disputed':
        return this.withPayment(tx, fact.ref, (p) => disputeCreated(ctx, tx, p, fact));
      case 'DisputeClosed':
        return this.withPayment(tx, fact.ref, (p) => disputeClosed(ctx, tx, p, fact));
      case 'RefundFailed':
        return this.withPayment(tx, fact.ref, (p) => refundFailed(ctx, tx, p, fact));
      case 'Payout':
        if (!this.payouts) return 'ignored: payouts are not tracked';
        return this.payouts.applyEvent(tx, mapPayout(fact.payout), fact.eventType);
      case 'Ignored':
        return `ignored: ${fact.reason}`;
    }
  }

  /**
   * A claimed batch in one transaction: the plain successes and ignored types set-based, the rest
   * left to apply() one by one (src/payments/stripe-apply/paid-batch.ts). Keyed by the event row's id.
   */
  applyBatch(tx: Tx, records: GatewayEvent[]): Promise<Map<string, BatchApplied>> {
    return applyPaidBatch(this.ctx, tx, records);
  }

  /**
   * An event that names only the intent (a charge, a dispute) of a payment whose success we have
   * not seen yet, so the intent is not on our row: Stripe's intent carries our id in its metadata.
   */
  private async findThroughIntent(tx: Tx, ref: PaymentRef): Promise<Payment | null> {
    if (ref.paymentId || !ref.stripePaymentIntentId) return null;
    const intent = await this.gateway.retrievePaymentIntent(ref.stripePaymentIntentId);
    const payment = intent.paymentId ? await this.sync.find(tx, { paymentId: intent.paymentId }) : null;
    if (payment) this.sync.attachIntent(payment, intent.id);
    return payment;
  }

  private async withPayment(tx: Tx, stripeRef: StripeRef, work: (payment: Payment) => Promise<string>, options: { lock?: boolean } = {}): Promise<string> {
    const ref = paymentRef(stripeRef);
    const payment = (await this.sync.find(tx, ref, options)) ?? (await this.findThroughIntent(tx, ref));
    if (payment) {
      annotateSpan(PAYMENT_ID, payment.id); // on the inbox.apply span
      return work(payment);
    }
    const label = ref.stripePaymentIntentId ?? ref.stripeCheckoutSessionId ?? ref.paymentId ?? 'unknown';
    await this.alerts.raise(tx, {
      type: AlertType.UNMATCHED_GATEWAY_EVENT,
      severity: AlertSeverity.MEDIUM,
      title: 'Stripe event for a payment Recoup does not know',
      detail: `No payment matches ${label}. Check the Stripe dashboard; money may be unattributed.`,
      subjectType: 'gateway_object',
      subjectId: label,
    });
    return `ignored: no payment matches ${label}`;
  }
}
