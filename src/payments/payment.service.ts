import type { EntityManager } from '@mikro-orm/postgresql';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { AlertService } from '../alerts/alert.service';
import { recordAudit } from '../audit/audit.service';
import type { CatalogService } from '../catalog/catalog.service';
import type { CustomerService } from '../customers/customer.service';
import type { Actor, Database } from '../database/transaction';
import type { GatewayError } from '../gateway/gateway.errors';
import type { PaymentGateway } from '../gateway/payment-gateway';
import { AppError } from '../shared/errors';
import { isUuid } from '../shared/ids';
import { Payment } from './payment.entity';
import { PaymentError } from './payment.errors';
import { PaymentStatus } from './payment-status';
import type { PaymentTransitions } from './payment-transitions.service';

export interface CheckoutUrls {
  successUrl: string;
  cancelUrl: string;
  expiryMinutes: number;
}

/**
 * Checkout: the payment row commits first (PENDING, our id), then Stripe is called outside any
 * transaction with an idempotency key derived from that id, then the session is recorded. A crash
 * in between leaves a PENDING payment that the stale-payment sweep expires; a session Stripe did
 * create still carries our id in its metadata, so a late payment finds its payment.
 */
export class PaymentService {
  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly catalog: CatalogService,
    private readonly customers: CustomerService,
    private readonly alerts: AlertService,
    private readonly urls: CheckoutUrls,
  ) {}

  async createPayment(actor: Actor, input: { customerId: string; planId: string }): Promise<Payment> {
    const payment = await this.db.transaction(async (tx) => {
      const customer = await this.customers.require(tx.em, input.customerId);
      if (customer.anonymizedAt) throw AppError.conflict('This customer was anonymised and cannot pay');
      const plan = await this.catalog.requirePlan(tx.em, input.planId);
      if (!plan.active || !plan.bundle.getEntity().active) throw AppError.conflict(`Plan ${plan.id} is not on sale`);
      const now = tx.clock.now();
      const created = tx.em.create(Payment, {
        customer,
        plan,
        bundle: plan.bundle,
        amountMinor: plan.amountMinor,
        currency: plan.currency,
        captureMode: plan.captureMode,
        checkoutExpiresAt: new Date(now.getTime() + this.urls.expiryMinutes * 60_000),
        createdAt: now,
        statusChangedAt: now,
      });
      recordAudit(tx, actor, { action: 'payment.create', subjectType: 'payment', subjectId: created.id, after: { status: created.status, planId: plan.id, amountMinor: plan.amountMinor, currency: plan.currency } });
      return created;
    });
    return this.openCheckout(actor, payment);
  }

  async require(em: EntityManager, paymentId: string): Promise<Payment> {
    const payment = isUuid(paymentId) ? await em.findOne(Payment, paymentId) : null;
    if (!payment) throw PaymentError.notFound(paymentId);
    return payment;
  }

  private async openCheckout(actor: Actor, payment: Payment): Promise<Payment> {
    const plan = await this.catalog.requirePlan(this.db.fork(), payment.plan.id);
    const customer = await this.customers.require(this.db.fork(), payment.customer.id);
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
