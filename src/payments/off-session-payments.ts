import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import { CaptureMode, PaymentGatewayName } from '../catalog/plan.entity';
import { AppError } from '../platform/shared/errors';
import type { CatalogService } from '../catalog/catalog.service';
import type { Actor, Tx } from '../platform/database/transaction';
import type { GatewayPaymentIntent } from '../integrations/stripe/payment-gateway';
import { Payment } from './payment.entity';
import { PaymentKind } from './payment-kind';
import { PAID_STATUSES, type PaymentStatus } from './payment-status';
import type { PaymentSync } from './payment-sync.service';
import type { PaymentTransitions } from './payment-transitions.service';

export interface SavedCard {
  stripeCustomerId: string;
  stripePaymentMethodId: string;
}

export interface OffSessionPaymentInput {
  customerId: string;
  planId: string;
  kind: PaymentKind.RENEWAL | PaymentKind.OFF_SESSION;
  card: SavedCard | null;
}

/**
 * Off-session charges (renewals, retries, chargeWithRetry) need a saved card at Stripe: Cashfree
 * checkout saves none, so a Cashfree plan or payment is refused, plainly, before anything is written.
 */
export function assertOffSessionGateway(gateway: PaymentGatewayName, what: string): void {
  if (gateway === PaymentGatewayName.STRIPE) return;
  throw AppError.badInput(`${what}: ${gateway} payments cannot be charged off-session (renewals and retries need a card saved at Stripe); the customer pays through checkout`, { gateway });
}

/**
 * Payments charged to a saved card without the customer present (renewals, chargeWithRetry). The
 * row is created PENDING and moves through the state machine like any other, so a renewal
 * extends its subscription through the normal path.
 */
export class OffSessionPayments {
  constructor(
    private readonly transitions: PaymentTransitions,
    private readonly sync: PaymentSync,
    private readonly catalog: CatalogService,
  ) {}

  /** Flushes at once: the one-open-payment-per-bundle index refuses it here when a checkout is open. */
  async create(tx: Tx, actor: Actor, input: OffSessionPaymentInput): Promise<Payment> {
    const plan = await this.catalog.requirePlan(tx.em, input.planId);
    assertOffSessionGateway(plan.gateway, `Plan ${plan.id}`);
    const now = tx.clock.now();
    const payment = tx.em.create(Payment, {
      customer: input.customerId,
      plan,
      bundle: plan.bundle,
      amountMinor: plan.amountMinor,
      currency: plan.currency,
      // A saved card is charged in one step: there is no fulfilment to wait for before capturing.
      captureMode: CaptureMode.AUTOMATIC,
      kind: input.kind,
      stripeCustomerId: input.card?.stripeCustomerId ?? null,
      stripePaymentMethodId: input.card?.stripePaymentMethodId ?? null,
      createdAt: now,
      statusChangedAt: now,
    });
    recordAudit(tx, actor, {
      action: 'payment.create',
      subjectType: 'payment',
      subjectId: payment.id,
      after: { status: payment.status, kind: input.kind, planId: plan.id, amountMinor: plan.amountMinor, currency: plan.currency },
    });
    await tx.em.flush();
    return payment;
  }

  /** Current statuses, in one query (the retry queue checks a whole batch before charging). */
  async statuses(em: EntityManager, paymentIds: string[]): Promise<Map<string, PaymentStatus>> {
    if (paymentIds.length === 0) return new Map();
    const rows = await em.find(Payment, { id: { $in: paymentIds } }, { fields: ['id', 'status'] });
    return new Map(rows.map((p) => [p.id, p.status]));
  }

  /** Refuses a plan that cannot be charged off-session (assertOffSessionGateway). */
  async assertChargeable(em: EntityManager, planId: string): Promise<void> {
    const plan = await this.catalog.requirePlan(em, planId);
    assertOffSessionGateway(plan.gateway, `Plan ${plan.id}`);
  }

  /** The card of the customer's latest paid payment that saved one. */
  async savedCard(em: EntityManager, customerId: string): Promise<SavedCard | null> {
    const payment = await em.findOne(
      Payment,
      { customer: customerId, status: { $in: [...PAID_STATUSES] }, stripePaymentMethodId: { $ne: null }, stripeCustomerId: { $ne: null } },
      { orderBy: { paidAt: 'desc' } },
    );
    return payment ? { stripeCustomerId: payment.stripeCustomerId!, stripePaymentMethodId: payment.stripePaymentMethodId! } : null;
  }

  /** The charge went through: the payment follows the intent (SUCCEEDED) through the state machine. */
  async recordCharged(tx: Tx, actor: Actor, paymentId: string, intent: GatewayPaymentIntent, reason: string): Promise<string> {
    const payment = await this.transitions.lock(tx, paymentId);
    // A declined attempt's webhook may have attached that attempt's intent; the one that paid is the record.
    if (intent.status === 'succeeded' || intent.status === 'requires_capture') payment.stripePaymentIntentId = intent.id;
    return this.sync.syncToIntent(tx, actor, payment, intent, reason);
  }
}
