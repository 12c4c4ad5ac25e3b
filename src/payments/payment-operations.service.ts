import { subjectFingerprint, type AlertService } from '../alerts/alert.service';
import { AlertType } from '../alerts/alert.types';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import type { GatewayPaymentIntent, PaymentGateway } from '../integrations/stripe/payment-gateway';
import { disagreement } from './money-state';
import { isUuid } from '../platform/shared/ids';
import { PaymentGatewayName } from '../catalog/plan.entity';
import type { ManualCapture } from './manual-capture.service';
import { Payment } from './payment.entity';
import { PaymentError } from './payment.errors';
import { PaymentOperationError } from './payment-operations.errors';
import { PaymentStatus } from './payment-status';
import { RELEASE_REQUESTED } from './own-actions';
import type { PaymentSync } from './payment-sync.service';
import type { PaymentTransitions } from './payment-transitions.service';
import type { CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import { cashfreeDisagreement, readCashfree, syncToCashfree } from './cashfree-sync';

export interface SyncOptions {
  /** The Cashfree gateway to read (the reconciliation passes its metered one). */
  cashfree?: CashfreeGateway;
}

export interface ReleaseOptions {
  /** An intent read moments ago (the reconciliation's list), in place of the read-through. */
  fresh?: GatewayPaymentIntent;
  /** The gateway to call (the reconciliation passes its metered one). */
  gateway?: PaymentGateway;
}

const snapshot = (p: Payment) => ({ status: p.status, refundedMinor: p.refundedMinor });
const COMPONENT = 'payment-operations';

/**
 * Operator actions on one payment: capture, sync with its gateway, release an authorization. Each
 * first re-reads the PaymentIntent from Stripe, or a Cashfree payment's order and refunds
 * (read-through, sync only: Cashfree has no authorizations), so it acts on the gateway's current
 * state rather than on our possibly stale copy; each writes through the state machine and
 * records an audit entry (who, before → after) in the transaction that changes the payment.
 * Stripe is called outside any transaction, with an idempotency key from our id.
 */
export class PaymentOperations {
  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly sync: PaymentSync,
    private readonly capture: ManualCapture,
    private readonly alerts: AlertService,
    /** The second gateway (issue 15); null when it is not configured. */
    private readonly cashfree: CashfreeGateway | null = null,
  ) {}

  async require(paymentId: string): Promise<Payment> {
    const payment = isUuid(paymentId) ? await this.db.fork().findOne(Payment, paymentId) : null;
    if (!payment) throw PaymentError.notFound(paymentId);
    return payment;
  }

  /** Capture, release and sync read Stripe's PaymentIntent: a payment through another gateway is refused, plainly. */
  private async requireStripe(paymentId: string, action: string): Promise<Payment> {
    const payment = await this.require(paymentId);
    if (payment.gateway !== PaymentGatewayName.STRIPE) {
      throw new PaymentOperationError('CONFLICT', `Payment ${paymentId} went through ${payment.gateway}: ${action} works on Stripe payments only`, { paymentId, gateway: payment.gateway });
    }
    return payment;
  }

  /** Stripe's current PaymentIntent for the payment (via its Checkout Session when we never stored the intent). */
  async readThrough(payment: Payment): Promise<GatewayPaymentIntent | null> {
    if (payment.stripePaymentIntentId) return this.gateway.retrievePaymentIntent(payment.stripePaymentIntentId);
    if (!payment.stripeCheckoutSessionId) return null;
    const session = await this.gateway.retrieveCheckoutSession(payment.stripeCheckoutSessionId);
    return session.paymentIntentId ? this.gateway.retrievePaymentIntent(session.paymentIntentId) : null;
  }

  /** Captures an authorization; one Stripe already captured counts as success. */
  async capturePayment(actor: Actor, paymentId: string): Promise<Payment> {
    const payment = await this.requireStripe(paymentId, 'capturePayment');
    const intent = await this.readThrough(payment);
    if (!intent) throw PaymentOperationError.noIntent(paymentId);
    const ours = [PaymentStatus.AUTHORIZED, PaymentStatus.SUCCEEDED].includes(payment.status);
    if (!ours || !['requires_capture', 'succeeded'].includes(intent.status)) throw PaymentOperationError.notCapturable(paymentId, payment.status, intent.status);
    return this.capture.captureWith(actor, paymentId, intent, async (tx, after, from, captured) => {
      this.audit(tx, actor, 'payment.capture', after, { status: from }, `Stripe intent was ${intent.status}`);
      await this.resolveSettledIssues(tx, actor, 'captured', after, captured);
    });
  }

  /** Our record ← the gateway's truth, through the state machine (status, then refunds). */
  async syncPaymentWithGateway(actor: Actor, paymentId: string, options: SyncOptions = {}): Promise<Payment> {
    const found = await this.require(paymentId);
    if (found.gateway === PaymentGatewayName.CASHFREE) return this.syncWithCashfree(actor, found, options.cashfree ?? this.cashfree);
    const payment = await this.requireStripe(paymentId, 'syncPaymentWithGateway');
    const intent = await this.readThrough(payment);
    const session = !intent && payment.stripeCheckoutSessionId ? await this.gateway.retrieveCheckoutSession(payment.stripeCheckoutSessionId) : null;
    return this.db.transaction(async (tx) => {
      const locked = await this.transitions.lock(tx, paymentId);
      const before = snapshot(locked);
      const outcomes: string[] = [];
      if (intent) {
        outcomes.push(await this.sync.syncToIntent(tx, actor, locked, intent, 'synced with Stripe by an operator'));
        if (intent.amountRefundedMinor > locked.refundedMinor && intent.status === 'succeeded') {
          outcomes.push(await this.sync.recordRefund(tx, actor, locked, intent.amountRefundedMinor, 'synced with Stripe by an operator'));
        }
      } else if (session?.status === 'expired') {
        outcomes.push(await this.sync.moveTo(tx, actor, locked, PaymentStatus.EXPIRED, { reason: 'synced with Stripe: checkout session expired' }));
      } else {
        outcomes.push(`no change: Stripe has ${session ? `an ${session.status} session` : 'nothing'} for this payment`);
      }
      this.audit(tx, actor, 'payment.sync', locked, before, outcomes.join('; '));
      await this.resolveSettledIssues(tx, actor, 'synced', locked, intent);
      return locked;
    });
  }

  /** Our record ← Cashfree's order and refunds; the same audit entry and alert resolution as Stripe's sync. */
  private async syncWithCashfree(actor: Actor, payment: Payment, gateway: CashfreeGateway | null): Promise<Payment> {
    if (!gateway) throw new PaymentOperationError('UNAVAILABLE', `Payment ${payment.id} went through CASHFREE, which is not configured here (CASHFREE_APP_ID)`, { paymentId: payment.id, gateway: payment.gateway });
    const truth = await readCashfree(gateway, payment);
    return this.db.transaction(async (tx) => {
      const locked = await this.transitions.lock(tx, payment.id);
      const before = snapshot(locked);
      const by = actor.id.startsWith('system:') ? actor.id.slice('system:'.length) : 'an operator';
      const outcomes = await syncToCashfree(tx, actor, this.sync, locked, truth, `synced with Cashfree by ${by}`);
      this.audit(tx, actor, 'payment.sync', locked, before, outcomes.join('; '));
      if (cashfreeDisagreement(locked, truth) === null) {
        const note = `synced by ${actor.id}: ours is ${locked.status}, Cashfree's order is ${truth.order.status}`;
        await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.PAYMENT_OUT_OF_SYNC, 'payment', locked.id), note, COMPONENT);
      }
      return locked;
    });
  }

  /** Releases (cancels) an authorization: the hold on the card ends and the payment is CANCELLED. */
  async releaseAuthorization(actor: Actor, paymentId: string, reason: string, options: ReleaseOptions = {}): Promise<Payment> {
    const payment = await this.requireStripe(paymentId, 'releaseAuthorization');
    const intent = options.fresh ?? (await this.readThrough(payment));
    if (!intent) throw PaymentOperationError.noIntent(paymentId);
    const ours = [PaymentStatus.AUTHORIZED, PaymentStatus.CANCELLED].includes(payment.status);
    if (!ours || !['requires_capture', 'canceled'].includes(intent.status)) throw PaymentOperationError.notReleasable(paymentId, payment.status, intent.status);
    const gateway = options.gateway ?? this.gateway;
    // Our record of the action commits before Stripe is asked: its payment_intent.canceled echo,
    // whenever it arrives, is then known to be ours and raises no alert (isOwnRelease).
    if (intent.status !== 'canceled') {
      await this.db.transaction(async (tx) => {
        recordAudit(tx, actor, { action: RELEASE_REQUESTED, subjectType: 'payment', subjectId: paymentId, before: { status: payment.status }, after: { intentId: intent.id }, note: reason });
      });
    }
    const released = intent.status === 'canceled' ? intent : await gateway.cancelPaymentIntent(intent.id, `release:${paymentId}`);
    return this.db.transaction(async (tx) => {
      const locked = await this.transitions.lock(tx, paymentId);
      const before = snapshot(locked);
      const outcome = await this.sync.syncToIntent(tx, actor, locked, released, `authorization released: ${reason}`);
      locked.captureNextAttemptAt = null;
      this.audit(tx, actor, 'payment.release', locked, before, `${reason} (${outcome})`);
      await this.resolveSettledIssues(tx, actor, 'released', locked, released);
      return locked;
    });
  }

  /**
   * An operator's action can end what an issue alert says; resolve it in the same transaction, so
   * outOfSyncPayments and stuckAuthorizations list what is still wrong, not what was.
   */
  private async resolveSettledIssues(tx: Tx, actor: Actor, action: string, payment: Payment, intent: GatewayPaymentIntent | null): Promise<void> {
    const note = `${action} by ${actor.id}: ours is ${payment.status}${intent ? `, Stripe's intent is ${intent.status}` : ''}`;
    if (payment.status !== PaymentStatus.AUTHORIZED) {
      await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.STUCK_AUTHORIZATION, 'payment', payment.id), note, COMPONENT);
    }
    if (intent && disagreement(payment, intent) === null) {
      await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.PAYMENT_OUT_OF_SYNC, 'payment', payment.id), note, COMPONENT);
    }
  }

  private audit(tx: Tx, actor: Actor, action: string, payment: Payment, before: Record<string, unknown>, note: string): void {
    recordAudit(tx, actor, { action, subjectType: 'payment', subjectId: payment.id, before, after: snapshot(payment), note });
  }
}

