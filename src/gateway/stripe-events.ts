import type Stripe from 'stripe';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { systemActor, type Tx } from '../database/transaction';
import type { Payment } from '../payments/payment.entity';
import { PaymentStatus } from '../payments/payment-status';
import type { PaymentRef, PaymentSync } from '../payments/payment-sync.service';
import type { GatewayEvent } from './gateway-event.entity';
import type { PaymentGateway } from './payment-gateway';
import { mapCheckoutSession, mapPaymentIntent, mapPayout } from './stripe.mappers';

/** Records payouts and raises payout.failed (HIGH) and payout.canceled (MEDIUM) alerts. */
export interface PayoutEvents {
  applyEvent(tx: Tx, payout: ReturnType<typeof mapPayout>, eventType: string): Promise<string>;
}

/** Every event type apply() acts on: the nightly reconciliation replays undelivered ones of these. */
export const HANDLED_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.expired',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'payment_intent.amount_capturable_updated',
  'charge.refunded',
  'charge.dispute.created',
  'payout.paid',
  'payout.failed',
  'payout.canceled',
  'payout.updated',
] as const;

const actor = systemActor('stripe-webhook');
const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : ((v as { id?: string } | null)?.id ?? null));

interface EventAlert {
  type: AlertType;
  severity: AlertSeverity;
  title: string;
}

const ALERTS: Partial<Record<string, EventAlert>> = {
  'payment_intent.payment_failed': { type: AlertType.PAYMENT_FAILED, severity: AlertSeverity.HIGH, title: 'Payment failed' },
  'payment_intent.canceled': { type: AlertType.PAYMENT_CANCELED, severity: AlertSeverity.MEDIUM, title: 'Payment canceled' },
  'charge.refunded': { type: AlertType.PAYMENT_REFUNDED, severity: AlertSeverity.MEDIUM, title: 'Payment refunded' },
  'charge.dispute.created': { type: AlertType.PAYMENT_DISPUTED, severity: AlertSeverity.CRITICAL, title: 'Payment disputed' },
};

/** Re-read events alert only when Stripe's current state agrees: a decline the customer has since paid past is no exception. */
const ALERT_ONLY_WHEN: Partial<Record<string, PaymentStatus>> = {
  'payment_intent.payment_failed': PaymentStatus.FAILED,
  'payment_intent.canceled': PaymentStatus.CANCELLED,
};

/**
 * Turns Stripe events into PaymentSync calls. Events may arrive twice or out of order. Where the
 * order matters (a failure, cancel or authorization that may already be stale) we re-read the
 * object from Stripe instead of trusting the event's snapshot; a success is final and is applied
 * from the event itself.
 * https://docs.stripe.com/webhooks#event-ordering
 */
export class StripeEventHandler {
  constructor(
    private readonly gateway: PaymentGateway,
    private readonly sync: PaymentSync,
    private readonly alerts: AlertService,
    private readonly payouts?: PayoutEvents,
  ) {}

  async apply(tx: Tx, record: GatewayEvent): Promise<string> {
    const event = record.payload as unknown as Stripe.Event;
    const object = event.data.object as unknown as Record<string, unknown>;
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.checkoutCompleted(tx, object as unknown as Stripe.Checkout.Session);
      case 'checkout.session.expired':
        return this.checkoutExpired(tx, object as unknown as Stripe.Checkout.Session);
      case 'payment_intent.succeeded':
        // Applied from the event alone (no call to Stripe in between), so the payment is locked as it is found.
        return this.withPayment(tx, intentRef(object), (p) =>
          this.sync.syncToIntent(tx, actor, p, mapPaymentIntent(object as unknown as Stripe.PaymentIntent), event.type), { lock: true });
      case 'payment_intent.payment_failed':
      case 'payment_intent.canceled':
      case 'payment_intent.amount_capturable_updated':
        return this.withPayment(tx, intentRef(object), async (p) => {
          const before = p.status;
          const fresh = await this.gateway.retrievePaymentIntent(String(object.id));
          const outcome = await this.sync.syncToIntent(tx, actor, p, fresh, event.type);
          // A cancellation Recoup made itself (a release, an expiry) was CANCELLED before its echo arrived: no news.
          const ownCancellation = event.type === 'payment_intent.canceled' && before === PaymentStatus.CANCELLED;
          if (p.status === ALERT_ONLY_WHEN[event.type] && !ownCancellation) {
            await this.raise(tx, event.type, p, fresh.lastErrorMessage ?? fresh.lastErrorCode ?? fresh.status);
          }
          return outcome;
        });
      case 'charge.refunded':
        return this.withPayment(tx, chargeRef(object), async (p) => {
          // Cancelling an uncaptured intent marks its charge refunded: a hold released, no money back.
          if (object.captured === false) return 'no change: an authorization was released (its charge was never captured)';
          const refunded = Number(object.amount_refunded ?? 0);
          const outcome = await this.sync.recordRefund(tx, actor, p, refunded, event.type);
          const of = `${refunded} of ${object.amount} ${String(object.currency).toUpperCase()}`;
          await this.raise(tx, event.type, p, `${of} refunded`, refunded < Number(object.amount) ? `Payment partly refunded: ${of}` : undefined);
          return outcome;
        });
      case 'charge.dispute.created':
        return this.withPayment(tx, chargeRef(object), async (p) => {
          const outcome = await this.sync.recordDispute(tx, actor, p, event.type);
          await this.raise(tx, event.type, p, `Dispute ${object.id}: ${object.reason ?? 'no reason'} for ${object.amount} ${object.currency}`);
          return outcome;
        });
      case 'payout.paid':
      case 'payout.failed':
      case 'payout.canceled':
      case 'payout.updated':
        if (!this.payouts) return 'ignored: payouts are not tracked';
        return this.payouts.applyEvent(tx, mapPayout(object as unknown as Stripe.Payout), event.type);
      default:
        return 'ignored: not a type Recoup acts on';
    }
  }

  private async checkoutCompleted(tx: Tx, object: Stripe.Checkout.Session): Promise<string> {
    const session = mapCheckoutSession(object);
    const ref = { paymentId: session.paymentId, stripeCheckoutSessionId: session.id, stripePaymentIntentId: session.paymentIntentId };
    return this.withPayment(tx, ref, async (payment) => {
      this.sync.attachIntent(payment, session.paymentIntentId);
      if (session.paymentStatus === 'paid') {
        return this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: 'checkout.session.completed' });
      }
      // Unpaid at completion: manual capture (authorized) or a delayed method. The intent says which.
      if (!session.paymentIntentId) return 'no change: checkout completed without a payment intent';
      const intent = await this.gateway.retrievePaymentIntent(session.paymentIntentId);
      return this.sync.syncToIntent(tx, actor, payment, intent, 'checkout.session.completed');
    });
  }

  private async checkoutExpired(tx: Tx, object: Stripe.Checkout.Session): Promise<string> {
    const ref = { paymentId: object.metadata?.paymentId ?? object.client_reference_id, stripeCheckoutSessionId: object.id };
    return this.withPayment(tx, ref, async (payment) => {
      const session = await this.gateway.retrieveCheckoutSession(object.id);
      if (session.status !== 'expired') return `no change: session is ${session.status}`;
      return this.sync.moveTo(tx, actor, payment, PaymentStatus.EXPIRED, { reason: 'checkout.session.expired' });
    });
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

  private async withPayment(tx: Tx, ref: PaymentRef, work: (payment: Payment) => Promise<string>, options: { lock?: boolean } = {}): Promise<string> {
    const payment = (await this.sync.find(tx, ref, options)) ?? (await this.findThroughIntent(tx, ref));
    if (payment) return work(payment);
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

  private async raise(tx: Tx, eventType: string, payment: Payment, detail: string, title?: string): Promise<void> {
    const alert = ALERTS[eventType];
    if (!alert) return;
    await this.alerts.raise(tx, {
      ...alert,
      title: title ?? `${alert.title}: ${payment.amountMinor} ${payment.currency.toUpperCase()}`,
      detail: `Payment ${payment.id}: ${detail}`,
      subjectType: 'payment',
      subjectId: payment.id,
    });
  }
}

function intentRef(object: Record<string, unknown>): PaymentRef {
  const metadata = (object.metadata ?? {}) as Record<string, string>;
  return { paymentId: metadata.paymentId, stripePaymentIntentId: String(object.id) };
}

function chargeRef(object: Record<string, unknown>): PaymentRef {
  const metadata = (object.metadata ?? {}) as Record<string, string>;
  return { paymentId: metadata.paymentId, stripePaymentIntentId: idOf(object.payment_intent) };
}
