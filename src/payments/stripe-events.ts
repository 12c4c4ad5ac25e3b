import type Stripe from 'stripe';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { systemActor, type Tx } from '../platform/database/transaction';
import type { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import { statusForIntent, type PaymentRef, type PaymentSync } from './payment-sync.service';
import { checkEventMoney, describeProblems, onlyMismatches, type MoneyCheck } from './event-money';
import type { GatewayEvent } from '../inbox/gateway-event.entity';
import type { GatewayCheckoutSession, GatewayPaymentIntent, PaymentGateway } from '../integrations/stripe/payment-gateway';
import { mapCheckoutSession, mapPaymentIntent, mapPayout } from '../integrations/stripe/stripe.mappers';

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
const upper = (currency: string | null): string => String(currency).toUpperCase();
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
 *
 * Money is never taken from an event that does not fit the payment (checkEventMoney: a refund
 * total above its amount, a negative or fractional figure, another currency): the object is
 * re-read, Stripe's figures are recorded (or nothing, when they do not fit either) and a HIGH
 * WEBHOOK_MONEY_MISMATCH alert is raised. A failed re-read throws, so the event is retried.
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
        return this.withPayment(tx, intentRef(object), (p) => this.intentSucceeded(tx, p, object, event.type), { lock: true });
      case 'payment_intent.payment_failed':
      case 'payment_intent.canceled':
      case 'payment_intent.amount_capturable_updated':
        return this.withPayment(tx, intentRef(object), async (p) => {
          const before = p.status;
          const fresh = await this.gateway.retrievePaymentIntent(String(object.id));
          const outcome = await this.syncCheckedIntent(tx, p, fresh, event.type);
          // A cancellation Recoup made itself (a release, an expiry) was CANCELLED before its echo arrived: no news.
          const ownCancellation = event.type === 'payment_intent.canceled' && before === PaymentStatus.CANCELLED;
          if (p.status === ALERT_ONLY_WHEN[event.type] && !ownCancellation) {
            await this.raise(tx, event.type, p, fresh.lastErrorMessage ?? fresh.lastErrorCode ?? fresh.status);
          }
          return outcome;
        });
      case 'charge.refunded':
        return this.withPayment(tx, chargeRef(object), (p) => this.chargeRefunded(tx, p, object, event.type));
      case 'charge.dispute.created':
        return this.withPayment(tx, chargeRef(object), (p) => this.disputeCreated(tx, p, object, event.type));
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
      const check = checkEventMoney(payment, { amountMinor: object.amount_total, currency: object.currency });
      if (!check.ok) return this.checkoutReRead(tx, payment, session.id, check);
      return this.checkoutPaid(tx, payment, session);
    });
  }

  private async checkoutPaid(tx: Tx, payment: Payment, session: GatewayCheckoutSession): Promise<string> {
    this.sync.attachIntent(payment, session.paymentIntentId);
    if (session.paymentStatus === 'paid') {
      return this.sync.moveTo(tx, actor, payment, PaymentStatus.SUCCEEDED, { reason: 'checkout.session.completed' });
    }
    // Unpaid at completion: manual capture (authorized) or a delayed method. The intent says which.
    if (!session.paymentIntentId) return 'no change: checkout completed without a payment intent';
    const intent = await this.gateway.retrievePaymentIntent(session.paymentIntentId);
    return this.syncCheckedIntent(tx, payment, intent, 'checkout.session.completed');
  }

  /** A completed session whose amount or currency does not fit the payment: Stripe's session decides. */
  private async checkoutReRead(tx: Tx, payment: Payment, sessionId: string, said: MoneyCheck): Promise<string> {
    const session = await this.gateway.retrieveCheckoutSession(sessionId);
    const fresh = checkEventMoney(payment, { amountMinor: session.amountTotalMinor, currency: session.currency });
    const where = `checkout.session.completed for session ${session.id}: the event said ${describeProblems(said)}`;
    if (!onlyMismatches(fresh)) {
      await this.moneyAlert(tx, payment, 'Stripe reports impossible checkout figures', `${where}; Stripe's session says ${describeProblems(fresh)}. Nothing was recorded.`);
      return `no change: the session's figures are impossible at Stripe too (${describeProblems(fresh)})`;
    }
    const outcome = await this.checkoutPaid(tx, payment, session);
    await this.moneyAlert(
      tx,
      payment,
      fresh.ok ? 'Stripe event disagreed with Stripe' : 'Stripe charged a different amount than the payment',
      fresh.ok
        ? `${where}. Stripe's session agrees with the payment (${session.amountTotalMinor} ${upper(session.currency)}); it was applied.`
        : `${where}. Stripe confirms: ${describeProblems(fresh)}. The session was applied as Stripe has it; check the payment.`,
    );
    return `${outcome} (event money did not fit the payment; re-read from Stripe, alerted)`;
  }

  private async checkoutExpired(tx: Tx, object: Stripe.Checkout.Session): Promise<string> {
    const ref = { paymentId: object.metadata?.paymentId ?? object.client_reference_id, stripeCheckoutSessionId: object.id };
    return this.withPayment(tx, ref, async (payment) => {
      const session = await this.gateway.retrieveCheckoutSession(object.id);
      if (session.status !== 'expired') return `no change: session is ${session.status}`;
      return this.sync.moveTo(tx, actor, payment, PaymentStatus.EXPIRED, { reason: 'checkout.session.expired' });
    });
  }

  /** A success's money is checked against the payment; only a disagreement costs a call to Stripe. */
  private async intentSucceeded(tx: Tx, payment: Payment, object: Record<string, unknown>, eventType: string): Promise<string> {
    const said = checkEventMoney(payment, { amountMinor: object.amount, receivedMinor: object.amount_received, currency: object.currency });
    if (said.ok) return this.sync.syncToIntent(tx, actor, payment, mapPaymentIntent(object as unknown as Stripe.PaymentIntent), eventType);
    // Rare: the row stays locked across this one call to Stripe. Unreachable Stripe throws: the event is retried.
    const fresh = await this.gateway.retrievePaymentIntent(String(object.id));
    return this.syncCheckedIntent(tx, payment, fresh, eventType, said);
  }

  /**
   * Applies an intent read from Stripe. Where it would leave money taken or held (SUCCEEDED,
   * AUTHORIZED), its figures are checked against the payment first: impossible figures are not
   * recorded at all; an amount or currency that differs from what we charged is applied as Stripe
   * has it (the status follows Stripe, as ever) but raises WEBHOOK_MONEY_MISMATCH. `said` is the
   * check of the event that sent us to Stripe, when that event's own figures did not fit.
   */
  private async syncCheckedIntent(tx: Tx, payment: Payment, intent: GatewayPaymentIntent, eventType: string, said?: MoneyCheck): Promise<string> {
    const target = statusForIntent(intent);
    const movesMoney = target === PaymentStatus.SUCCEEDED || target === PaymentStatus.AUTHORIZED;
    const fresh: MoneyCheck = movesMoney
      ? checkEventMoney(payment, { amountMinor: intent.amountMinor, receivedMinor: intent.amountReceivedMinor, currency: intent.currency })
      : { ok: true };
    if (fresh.ok && !said) return this.sync.syncToIntent(tx, actor, payment, intent, eventType);
    const where = `${eventType} for intent ${intent.id}${said ? `: the event said ${describeProblems(said)}` : ''}`;
    if (!onlyMismatches(fresh)) {
      await this.moneyAlert(tx, payment, 'Stripe reports impossible payment figures', `${where}; Stripe's intent says ${describeProblems(fresh)}. Nothing was recorded.`);
      return `no change: the intent's figures are impossible at Stripe (${describeProblems(fresh)})`;
    }
    const outcome = await this.sync.syncToIntent(tx, actor, payment, intent, eventType);
    const stripeSays = `${intent.amountMinor} ${upper(intent.currency)}, ${intent.status}`;
    await this.moneyAlert(
      tx,
      payment,
      fresh.ok ? 'Stripe event disagreed with Stripe' : 'Stripe charged a different amount than the payment',
      fresh.ok
        ? `${where}. Stripe's intent agrees with the payment (${stripeSays}); it was applied.`
        : `${where}${said ? '.' : ':'} Stripe's intent is ${stripeSays}: ${describeProblems(fresh)}. Its status was applied as usual; check the payment.`,
    );
    return `${outcome} (amount or currency did not fit the payment, alerted)`;
  }

  /**
   * A refund total the payment cannot hold (more than its amount, not a whole number, another
   * currency) is never recorded from the event: the charge is re-read and Stripe's total recorded,
   * or nothing when Stripe's figures do not fit either. Stripe unreachable throws: retried later.
   */
  private async chargeRefunded(tx: Tx, payment: Payment, object: Record<string, unknown>, eventType: string): Promise<string> {
    // Cancelling an uncaptured intent marks its charge refunded: a hold released, no money back.
    if (object.captured === false) return 'no change: an authorization was released (its charge was never captured)';
    const said = checkEventMoney(payment, { amountMinor: object.amount, refundedMinor: object.amount_refunded, currency: object.currency });
    if (said.ok) {
      return this.applyRefund(tx, payment, eventType, { amount: object.amount as number, refunded: object.amount_refunded as number, currency: object.currency as string });
    }
    const charge = await this.gateway.retrieveCharge(String(object.id));
    const fresh = checkEventMoney(payment, { amountMinor: charge.amountMinor, refundedMinor: charge.amountRefundedMinor, currency: charge.currency });
    const where = `${eventType} for charge ${charge.id}: the event said ${describeProblems(said)}`;
    if (!fresh.ok) {
      await this.moneyAlert(tx, payment, 'Stripe reports impossible refund figures', `${where}; Stripe's charge says ${describeProblems(fresh)}. Nothing was recorded.`);
      return `no change: refund figures do not fit the payment at Stripe either (${describeProblems(fresh)})`;
    }
    const stripeSays = `${charge.amountRefundedMinor} of ${charge.amountMinor} ${upper(charge.currency)} refunded`;
    await this.moneyAlert(tx, payment, 'Stripe event disagreed with Stripe', `${where}. Stripe's charge says ${stripeSays}; that is what was recorded.`);
    if (!charge.captured) return 'no change: an authorization was released (its charge was never captured, says Stripe)';
    if (charge.amountRefundedMinor === 0) return `no change: Stripe says nothing was refunded (the event said ${describeProblems(said)})`;
    const outcome = await this.applyRefund(tx, payment, eventType, { amount: charge.amountMinor, refunded: charge.amountRefundedMinor, currency: charge.currency });
    return `${outcome} (as re-read from Stripe; the event's figures did not fit)`;
  }

  private async applyRefund(tx: Tx, payment: Payment, eventType: string, money: { amount: number; refunded: number; currency: string }): Promise<string> {
    const outcome = await this.sync.recordRefund(tx, actor, payment, money.refunded, eventType);
    const of = `${money.refunded} of ${money.amount} ${upper(money.currency)}`;
    await this.raise(tx, eventType, payment, `${of} refunded`, money.refunded < money.amount ? `Payment partly refunded: ${of}` : undefined);
    return outcome;
  }

  /**
   * A dispute records no money, only that the charge is disputed; its amount is quoted in the alert.
   * When that amount or currency does not fit the payment, Stripe's charge says whether it is disputed.
   */
  private async disputeCreated(tx: Tx, payment: Payment, object: Record<string, unknown>, eventType: string): Promise<string> {
    const said = checkEventMoney(payment, { disputedMinor: object.amount, currency: object.currency });
    const reason = String(object.reason ?? 'no reason');
    if (said.ok) {
      const outcome = await this.sync.recordDispute(tx, actor, payment, eventType);
      await this.raise(tx, eventType, payment, `Dispute ${object.id}: ${reason} for ${object.amount} ${object.currency}`);
      return outcome;
    }
    const chargeId = idOf(object.charge);
    if (!chargeId) {
      await this.moneyAlert(tx, payment, 'Stripe dispute event with impossible figures', `${eventType} ${object.id}: the event said ${describeProblems(said)} and names no charge. Nothing was recorded.`);
      return 'no change: the dispute names no charge to check';
    }
    const charge = await this.gateway.retrieveCharge(chargeId);
    const where = `${eventType} ${object.id} on charge ${charge.id}: the event said ${describeProblems(said)}`;
    if (!charge.disputed) {
      await this.moneyAlert(tx, payment, 'Stripe event disagreed with Stripe', `${where}; Stripe says the charge is not disputed. Nothing was recorded.`);
      return 'no change: Stripe says the charge is not disputed';
    }
    const outcome = await this.sync.recordDispute(tx, actor, payment, eventType);
    await this.raise(tx, eventType, payment, `Dispute ${object.id}: ${reason}; the event's amount did not fit the payment (see Stripe)`);
    await this.moneyAlert(tx, payment, 'Stripe event disagreed with Stripe', `${where}. Stripe confirms the charge is disputed; the dispute was recorded.`);
    return `${outcome} (dispute confirmed by Stripe; the event's figures did not fit)`;
  }

  private async moneyAlert(tx: Tx, payment: Payment, title: string, detail: string): Promise<void> {
    await this.alerts.raise(tx, {
      type: AlertType.WEBHOOK_MONEY_MISMATCH,
      severity: AlertSeverity.HIGH,
      title: `${title}: ${payment.amountMinor} ${payment.currency.toUpperCase()}`,
      detail: `Payment ${payment.id}: ${detail}`,
      subjectType: 'payment',
      subjectId: payment.id,
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
