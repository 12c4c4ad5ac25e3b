import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { AlertService } from '../alerts/alert.service';
import { recordAudit } from '../audit/audit.service';
import type { CatalogService } from '../catalog/catalog.service';
import { CaptureMode, PaymentGatewayName, type Plan } from '../catalog/plan.entity';
import type { Customer } from '../customers/customer.entity';
import type { CashfreeGateway } from '../integrations/cashfree/cashfree.gateway';
import type { CustomerService } from '../customers/customer.service';
import type { Actor, Database } from '../platform/database/transaction';
import type { GatewayError } from '../integrations/stripe/gateway.errors';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Payment } from './payment.entity';
import { PaymentError } from './payment.errors';
import { PaymentStatus } from './payment-status';
import type { PaymentTransitions } from './payment-transitions.service';
import type { CloseOutcome, PendingPayments, PendingView } from './pending-payments.service';
import type { VerificationRequirement } from '../verification/verification.types';

export interface CheckoutUrls {
  successUrl: string;
  cancelUrl: string;
}

export type CheckoutOutcome = 'CREATED' | 'PENDING_SAME_BUNDLE' | 'ALREADY_PAID' | 'VERIFICATION_REQUIRED';

/**
 * Asked before anything else of a checkout (no payment row, no Stripe call yet): null lets it go
 * ahead; a requirement answers VERIFICATION_REQUIRED with it instead (KYC / e-sign, src/verification/).
 */
export type CheckoutGate = (actor: Actor, customer: Customer, plan: Plan) => Promise<VerificationRequirement | null>;

export interface CheckoutResult {
  outcome: CheckoutOutcome;
  /** The new payment (CREATED) or the one that was found paid (ALREADY_PAID). */
  payment: Payment | null;
  /** PENDING_SAME_BUNDLE: the open payment for this bundle, with its age and time left. */
  conflict: PendingView | null;
  /** Open payments for other bundles: they never block, but the customer should know. */
  otherPending: PendingView[];
  /** VERIFICATION_REQUIRED: what the customer must still do, and where. */
  verification?: VerificationRequirement | null;
}

export interface CreatePaymentInput {
  customerId: string;
  planId: string;
  /** Cancel this open payment of the same customer first ("cancel and start new"). */
  replacePaymentId?: string | null;
}

/**
 * Checkout. Per customer and bundle at most one open payment, enforced by a unique partial index;
 * a stale one is expired first. The payment row commits (PENDING, our id) before Stripe is called
 * with an idempotency key from that id, outside any transaction; a crash in between leaves a
 * PENDING payment the cleanup expires, and a session Stripe did create carries our id in its
 * metadata, so a late payment still finds its payment.
 */
export class PaymentService {
  private gate: CheckoutGate | null = null;

  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly pending: PendingPayments,
    private readonly catalog: CatalogService,
    private readonly customers: CustomerService,
    private readonly alerts: AlertService,
    private readonly urls: CheckoutUrls,
    /** The second gateway (issue 15); null when it is not configured. */
    private readonly cashfree: CashfreeGateway | null = null,
  ) {}

  /** The composition root sets the verification gate (services.ts). */
  gateCheckoutWith(gate: CheckoutGate): void {
    this.gate = gate;
  }

  async createPayment(actor: Actor, input: CreatePaymentInput): Promise<CheckoutResult> {
    const em = this.db.fork();
    const customer = await this.customers.require(em, input.customerId);
    if (customer.anonymizedAt) throw AppError.conflict('This customer was anonymised and cannot pay');
    const plan = await this.catalog.requirePlan(em, input.planId);
    if (!plan.active || !plan.bundle.getEntity().active) throw AppError.conflict(`Plan ${plan.id} is not on sale`);
    // Before any payment is touched (a replaced or stale one) and before Stripe is called.
    const verification = this.gate ? await this.gate(actor, customer, plan) : null;
    if (verification) return { outcome: 'VERIFICATION_REQUIRED', payment: null, conflict: null, otherPending: [], verification };
    if (plan.gateway === PaymentGatewayName.CASHFREE) this.assertCashfreeCheckout(plan, customer);
    if (input.replacePaymentId) {
      const replaced = await this.cancelToReplace(actor, input.replacePaymentId, customer.id, plan.bundle.id);
      // Stripe said it was paid after all: a second checkout would charge the customer twice.
      if (replaced.outcome === 'found_paid') return { outcome: 'ALREADY_PAID', payment: replaced.payment, conflict: null, otherPending: [] };
    }

    const blocking = await this.settleSameBundle(actor, customer.id, plan.bundle.id);
    if (blocking) return blocking;
    const otherPending = (await this.pending.openFor(this.db.fork(), customer.id)).map((p) => this.pending.view(p));
    let payment: Payment;
    try {
      payment = await this.insertPending(actor, customer.id, plan.id);
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      // A concurrent checkout for the same bundle won the race: answer with its payment.
      const conflict = await this.settleSameBundle(actor, customer.id, plan.bundle.id);
      if (conflict) return conflict;
      throw AppError.conflict('Another checkout for this bundle is being created; try again');
    }
    return { outcome: 'CREATED', payment: await this.openCheckout(actor, payment), conflict: null, otherPending };
  }

  async require(em: EntityManager, paymentId: string): Promise<Payment> {
    const payment = isUuid(paymentId) ? await em.findOne(Payment, paymentId) : null;
    if (!payment) throw PaymentError.notFound(paymentId);
    return payment;
  }

  /** Before any row is written: what a Cashfree checkout cannot do, said plainly. */
  private assertCashfreeCheckout(plan: Plan, customer: Customer): void {
    if (!this.cashfree) throw new AppError('UNAVAILABLE', `Plan ${plan.id} is sold through Cashfree, which is not configured on this server (CASHFREE_APP_ID, CASHFREE_SECRET_KEY)`);
    if (plan.captureMode === CaptureMode.MANUAL) throw AppError.badInput(`Plan ${plan.id} is a CASHFREE plan with MANUAL capture: Cashfree checkout captures at once`, { planId: plan.id });
    if (!customer.phone) throw AppError.badInput('A Cashfree checkout needs the customer\'s phone number (Cashfree requires it): set it first', { customerId: customer.id, fields: ['phone'] });
  }

  /** The open payment for this bundle blocks unless it is stale, in which case it is expired first. */
  private async settleSameBundle(actor: Actor, customerId: string, bundleId: string): Promise<CheckoutResult | null> {
    const open = (await this.pending.openFor(this.db.fork(), customerId)).find((p) => p.bundle.id === bundleId);
    if (!open) return null;
    const view = this.pending.view(open);
    if (!view.stale) return { outcome: 'PENDING_SAME_BUNDLE', payment: null, conflict: view, otherPending: [] };
    const closed = await this.pending.close(actor, open.id, PaymentStatus.EXPIRED, 'stale: expired before a new checkout');
    if (closed.outcome === 'found_paid') return { outcome: 'ALREADY_PAID', payment: closed.payment, conflict: null, otherPending: [] };
    return null;
  }

  private async cancelToReplace(actor: Actor, paymentId: string, customerId: string, bundleId: string): Promise<{ payment: Payment; outcome: CloseOutcome }> {
    const payment = await this.pending.require(this.db.fork(), paymentId);
    this.pending.assertOwner(payment, customerId);
    if (payment.bundle.id !== bundleId) throw AppError.badInput('replacePaymentId must be an open payment for the same bundle');
    return this.pending.close(actor, paymentId, PaymentStatus.CANCELLED, 'cancelled to start a new checkout');
  }

  private async insertPending(actor: Actor, customerId: string, planId: string): Promise<Payment> {
    return this.db.transaction(async (tx) => {
      const plan = await this.catalog.requirePlan(tx.em, planId);
      const now = tx.clock.now();
      const payment = tx.em.create(Payment, {
        customer: customerId,
        plan,
        bundle: plan.bundle,
        amountMinor: plan.amountMinor,
        currency: plan.currency,
        captureMode: plan.captureMode,
        gateway: plan.gateway,
        checkoutExpiresAt: new Date(now.getTime() + this.pending.expiryMinutes * 60_000),
        createdAt: now,
        statusChangedAt: now,
      });
      recordAudit(tx, actor, { action: 'payment.create', subjectType: 'payment', subjectId: payment.id, after: { status: payment.status, planId: plan.id, amountMinor: plan.amountMinor, currency: plan.currency } });
      await tx.em.flush();
      return payment;
    });
  }

  private async openCheckout(actor: Actor, payment: Payment): Promise<Payment> {
    if (payment.gateway === PaymentGatewayName.CASHFREE) return this.openCashfreeCheckout(actor, payment);
    const em = this.db.fork();
    const plan = await this.catalog.requirePlan(em, payment.plan.id);
    const customer = await this.customers.require(em, payment.customer.id);
    try {
      const session = await this.gateway.createCheckoutSession({
        paymentId: payment.id,
        amountMinor: payment.amountMinor,
        currency: payment.currency,
        productName: plan.name,
        manualCapture: payment.captureMode === 'MANUAL',
        customerEmail: customer.email,
        expiresAt: payment.checkoutExpiresAt!,
        successUrl: this.urls.successUrl,
        cancelUrl: this.urls.cancelUrl,
        idempotencyKey: `checkout:${payment.id}`,
      });
      return await this.db.transaction(async (tx) => {
        const locked = await this.transitions.lock(tx, payment.id);
        locked.stripeCheckoutSessionId = session.id;
        locked.checkoutUrl = session.url;
        locked.checkoutExpiresAt = session.expiresAt;
        return locked;
      });
    } catch (error) {
      await this.abandon(actor, payment, error as GatewayError);
      throw error;
    }
  }

  /**
   * A Cashfree order whose order_id is our payment id (so a retry after a lost answer finds the
   * same order, never a second), expiring with the payment, and its hosted checkout URL.
   */
  private async openCashfreeCheckout(actor: Actor, payment: Payment): Promise<Payment> {
    const em = this.db.fork();
    const plan = await this.catalog.requirePlan(em, payment.plan.id);
    const customer = await this.customers.require(em, payment.customer.id);
    try {
      const { order, checkoutUrl } = await this.cashfree!.createOrder({
        paymentId: payment.id,
        amountMinor: payment.amountMinor,
        currency: payment.currency,
        customer: { id: customer.id, phone: customer.phone ?? '', email: customer.email, name: customer.name },
        productName: plan.name,
        expiresAt: payment.checkoutExpiresAt!,
        returnUrl: this.urls.successUrl,
      });
      return await this.db.transaction(async (tx) => {
        const locked = await this.transitions.lock(tx, payment.id);
        locked.gatewayOrderId = order.orderId;
        locked.checkoutUrl = checkoutUrl;
        if (order.expiresAt) locked.checkoutExpiresAt = order.expiresAt;
        return locked;
      });
    } catch (error) {
      await this.abandon(actor, payment, error as GatewayError);
      throw error;
    }
  }

  /** Checkout could not be opened: the payment is cancelled so it never blocks the customer. */
  private async abandon(actor: Actor, payment: Payment, error: GatewayError): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.transitions.transition(tx, actor, payment.id, PaymentStatus.CANCELLED, { reason: `checkout could not be opened: ${error.message}` });
      await this.alerts.raise(tx, {
        type: AlertType.CHECKOUT_FAILED,
        severity: AlertSeverity.MEDIUM,
        title: 'Checkout could not be opened',
        detail: `Payment ${payment.id}: ${error.message}`,
        subjectType: 'payment',
        subjectId: payment.id,
      });
    });
  }
}
