import type { EntityManager } from '@mikro-orm/postgresql';
import { subjectFingerprint, type AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import { recordAudit } from '../audit/audit.service';
import { systemActor, type Actor, type Database, type Tx } from '../platform/database/transaction';
import { PaymentGatewayName } from '../catalog/plan.entity';
import type { CashfreeGateway, CashfreeRefund } from '../integrations/cashfree/cashfree.gateway';
import { GatewayError } from '../integrations/stripe/gateway.errors';
import type { PaymentGateway } from '../integrations/stripe/payment-gateway';
import { AppError } from '../platform/shared/errors';
import type { Logger } from '../platform/observability/logger';
import { Payment } from './payment.entity';
import type { PaymentOperations } from './payment-operations.service';
import { PaymentOperationError } from './payment-operations.errors';
import { PaymentStatus } from './payment-status';
import { REFUND_FAILED_ACTION, type PaymentSync } from './payment-sync.service';
import type { PaymentTransitions } from './payment-transitions.service';
import { Refund, RefundStatus } from './refund.entity';

/**
 * Whether money can go back to the customer: a captured payment (SUCCEEDED, DISPUTED), or a
 * REFUNDED one whose refunded total is below its amount because a refund failed at Stripe (the
 * money is owed again: PaymentSync.recordRefundFailure lowers the total, the status stays). How
 * much may go is decided under the payment's lock (Refunds.reserve), never more than is left.
 */
export function isRefundable(payment: Pick<Payment, 'status' | 'amountMinor' | 'refundedMinor'>): boolean {
  if (payment.status === PaymentStatus.SUCCEEDED || payment.status === PaymentStatus.DISPUTED) return true;
  return payment.status === PaymentStatus.REFUNDED && payment.refundedMinor < payment.amountMinor;
}

/**
 * How long a refund request the same as an earlier one (same payment, operator, amount and
 * reason) is taken to be that request again: a double-click, a form sent twice, a client retrying.
 */
export const REPEAT_WINDOW_MS = 10 * 60_000;

/** Stripe's answer while the first request under an idempotency key is still being made. */
const KEY_IN_USE = 'idempotency_key_in_use';

/**
 * Stripe keeps an idempotency key for 24 hours; replayed after that, the same key could make a
 * second refund. A Stripe refund PENDING for longer is never made again (an operator decides).
 */
const STRIPE_KEY_LIFETIME_MS = 23 * 3_600_000;

export const SETTLE_PENDING_REFUNDS_JOB = 'refunds:settle-pending';
const SETTLE_BATCH = 100;

export interface SettleReport {
  settled: number;
  stillPending: number;
  failed: number;
  /** Stripe refunds past their key's lifetime, left to an operator (REFUND_FAILED, outcome unknown). */
  unknown: number;
}

export interface RefundOutcome {
  refund: Refund;
  payment: Payment;
}

/**
 * Full and partial refunds. The Refund row commits (PENDING) before Stripe is called, and its id
 * is the idempotency key, so a retry after a timeout replays the same refund instead of making a
 * second one. While a refund's outcome is unknown it stays PENDING and counts against what is left;
 * the next request for the payment first settles it with its own key, and a request for the same
 * amount is taken to be its retry. The same request again within REPEAT_WINDOW_MS (same operator,
 * amount and reason) is answered with the refund it made, never a second one. A full refund moves the payment to REFUNDED, which ends the
 * access it paid for (SubscriptionService).
 */
export class Refunds {
  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly sync: PaymentSync,
    private readonly operations: PaymentOperations,
    private readonly alerts: AlertService,
    private readonly logger: Logger,
    /** The second gateway (issue 15); null when it is not configured. */
    private readonly cashfree: CashfreeGateway | null = null,
  ) {}

  /** `amountMinor` null: everything that is left. */
  async refundPayment(actor: Actor, paymentId: string, amountMinor: number | null, reason: string): Promise<RefundOutcome> {
    if (amountMinor !== null && (!Number.isInteger(amountMinor) || amountMinor < 1)) throw AppError.badInput('amountMinor must be a positive integer (minor units)');
    if (!reason.trim() || reason.length > 500) throw AppError.badInput('reason must be 1 to 500 characters');
    const payment = await this.operations.require(paymentId);
    if (payment.gateway === PaymentGatewayName.CASHFREE) return this.refundThroughCashfree(actor, payment, amountMinor, reason.trim());
    const intent = await this.operations.readThrough(payment);
    if (!intent) throw PaymentOperationError.noIntent(paymentId);
    if (!isRefundable(payment) || intent.status !== 'succeeded') throw PaymentOperationError.notRefundable(paymentId, payment.status, intent.status);
    for (const pending of (await this.pending(this.db.fork(), paymentId)).filter((r) => this.replayable(r))) {
      const settled = await this.execute(actor, pending, payment.stripePaymentIntentId ?? intent.id);
      if (amountMinor === pending.amountMinor) return settled;
    }
    const refund = await this.reserve(actor, paymentId, amountMinor, reason.trim(), intent.amountRefundedMinor);
    if (refund.status === RefundStatus.SUCCEEDED) return this.current(refund);
    return this.execute(actor, refund, intent.id);
  }

  /**
   * The same rules through Cashfree: the Refund row commits PENDING first and its id is Cashfree's
   * refund_id, so a retry replays that refund (the adapter answers the existing one) instead of
   * making a second. Cashfree usually processes a refund later: it stays PENDING (counting against
   * what is left) until REFUND_STATUS_WEBHOOK settles it (CashfreeEventHandler), or Cashfree
   * answers it processed at once.
   */
  private async refundThroughCashfree(actor: Actor, payment: Payment, amountMinor: number | null, reason: string): Promise<RefundOutcome> {
    const cashfree = this.requireCashfree();
    const orderId = payment.gatewayOrderId ?? payment.id;
    const order = await cashfree.fetchOrder(orderId);
    if (!isRefundable(payment) || order.status !== 'PAID') {
      throw new PaymentOperationError('CONFLICT', `Payment ${payment.id} cannot be refunded: ours is ${payment.status}, Cashfree's order is ${order.status}. Only paid payments are refunded.`, { paymentId: payment.id, status: payment.status, gatewayStatus: order.status });
    }
    for (const pending of await this.pending(this.db.fork(), payment.id)) {
      const settled = await this.executeCashfree(actor, pending, orderId);
      if (amountMinor === pending.amountMinor) return settled;
    }
    const refund = await this.reserve(actor, payment.id, amountMinor, reason, await this.refundedAtCashfree(orderId));
    if (refund.status === RefundStatus.SUCCEEDED) return this.current(refund);
    return this.executeCashfree(actor, refund, orderId);
  }

  /**
   * Refunds PENDING for longer than `olderThanMs` whose outcome nobody came back for (a process
   * killed between committing the row and the gateway's answer, a timeout no one retried), oldest
   * first: each is made again under its own key, which replays the refund if the gateway made it
   * and makes it if not, never a second one. A Cashfree refund still processing stays PENDING; a
   * refusal is FAILED with a REFUND_FAILED alert, so the customer's money is never silently stuck.
   */
  async settleStale(olderThanMs: number): Promise<SettleReport> {
    const cutoff = new Date(this.db.clock.now().getTime() - olderThanMs);
    // Least recently tried first (each try touches updated_at), so a hundred stuck ones never starve the rest.
    const stale = await this.db.fork().find(Refund, { status: RefundStatus.PENDING, createdAt: { $lt: cutoff } }, { orderBy: { updatedAt: 'asc', id: 'asc' }, limit: SETTLE_BATCH, populate: ['payment'] });
    const actor = systemActor(SETTLE_PENDING_REFUNDS_JOB);
    const report: SettleReport = { settled: 0, stillPending: 0, failed: 0, unknown: 0 };
    for (const refund of stale) {
      const payment = refund.payment.getEntity();
      if (payment.gateway !== PaymentGatewayName.CASHFREE && !this.replayable(refund)) {
        report.unknown++;
        await this.alertUnknown(payment, refund);
        await this.touch(refund.id);
        continue;
      }
      try {
        const outcome = payment.gateway === PaymentGatewayName.CASHFREE
          ? await this.settleCashfree(actor, refund, payment.gatewayOrderId ?? payment.id)
          : await this.execute(actor, refund, await this.intentIdOf(payment));
        if (outcome.refund.status === RefundStatus.SUCCEEDED) report.settled++;
        else {
          report.stillPending++;
          await this.touch(refund.id);
        }
      } catch (error) {
        // Retryable (timeout, 5xx): still PENDING, the next run tries again. Final: FAILED, and said so.
        if (error instanceof GatewayError && !error.retryable) {
          report.failed++;
          await this.alertFailed(payment, refund, error.message);
        } else {
          report.stillPending++;
          await this.touch(refund.id);
        }
        this.logger.warn({ err: error, refundId: refund.id, paymentId: payment.id }, 'pending refund not settled');
      }
    }
    return report;
  }

  /**
   * One read of the order's refunds, most often all it takes: Cashfree has ours (processing, done
   * or refused: acted on as if it had just answered), or never received it and it is made now.
   */
  private async settleCashfree(actor: Actor, refund: Refund, orderId: string): Promise<RefundOutcome> {
    const known = (await this.requireCashfree().fetchRefunds(orderId)).find((r) => r.refundId === refund.id);
    return this.executeCashfree(actor, refund, orderId, known);
  }

  private async touch(refundId: string): Promise<void> {
    await this.db.fork().execute(`update refunds set updated_at = now() where id = ? and status = 'PENDING'`, [refundId]);
  }

  /** The PaymentIntent the refund was asked of: the same one refundPayment read through, so the key's parameters match. */
  private async intentIdOf(payment: Payment): Promise<string> {
    if (payment.stripePaymentIntentId) return payment.stripePaymentIntentId;
    const intent = await this.operations.readThrough(payment);
    if (!intent) throw PaymentOperationError.noIntent(payment.id);
    return intent.id;
  }

  /** Whether a Stripe refund's key is still honoured, so making it again replays rather than repeats. */
  private replayable(refund: Refund): boolean {
    return this.db.clock.now().getTime() - refund.createdAt.getTime() < STRIPE_KEY_LIFETIME_MS;
  }

  private async alertUnknown(payment: Payment, refund: Refund): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.alerts.raise(tx, {
        type: AlertType.REFUND_FAILED,
        severity: AlertSeverity.HIGH,
        title: `Refund outcome unknown: ${refund.amountMinor} ${refund.currency.toUpperCase()}`,
        detail: `Refund ${refund.id} of payment ${payment.id}, asked by ${refund.requestedBy} at ${refund.createdAt.toISOString()}, never got Stripe's answer, and its idempotency key has expired: Recoup will not make it again, as that could refund twice. Look for it among the PaymentIntent's refunds in Stripe's dashboard: there, run syncPaymentWithGateway; not there, the customer is still owed it.`,
        subjectType: 'payment',
        subjectId: payment.id,
      });
    });
  }

  private async alertFailed(payment: Payment, refund: Refund, message: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.alerts.raise(tx, {
        type: AlertType.REFUND_FAILED,
        severity: AlertSeverity.HIGH,
        title: `Refund failed: ${refund.amountMinor} ${refund.currency.toUpperCase()}`,
        detail: `Refund ${refund.id} of payment ${payment.id} (${payment.gateway}), asked by ${refund.requestedBy}, was refused when it was made again: ${message}. The money is still owed: refund again (refundPayment).`,
        subjectType: 'payment',
        subjectId: payment.id,
      });
    });
  }

  private requireCashfree(): CashfreeGateway {
    if (!this.cashfree) throw new AppError('UNAVAILABLE', 'Cashfree is not configured on this server (CASHFREE_APP_ID, CASHFREE_SECRET_KEY)');
    return this.cashfree;
  }

  private async refundedAtCashfree(orderId: string): Promise<number> {
    const refunds = await this.requireCashfree().fetchRefunds(orderId);
    return refunds.filter((r) => r.status === 'SUCCESS').reduce((sum, r) => sum + (r.amountMinor ?? 0), 0);
  }

  /** `known`: Cashfree's refund under our id, already read (the settle job): acted on without asking again. */
  private async executeCashfree(actor: Actor, refund: Refund, orderId: string, known?: CashfreeRefund): Promise<RefundOutcome> {
    const cashfree = this.requireCashfree();
    try {
      const made = known ?? (await cashfree.createRefund({ orderId, refundId: refund.id, amountMinor: refund.amountMinor, note: refund.reason }));
      if (made.status === 'SUCCESS') return await this.recordSuccess(actor, refund.id, null, await this.refundedAtCashfree(orderId).catch(() => null));
      if (made.status === 'CANCELLED' || made.status === 'FAILED') {
        throw new GatewayError(`Cashfree: refund ${refund.id} ${made.status.toLowerCase()}: ${made.statusDescription ?? 'no reason given'}`, false, made.status, null, null, null);
      }
      // PENDING or ONHOLD: Cashfree has it; the refund webhook settles it.
      return await this.current(refund);
    } catch (error) {
      if (error instanceof GatewayError && !error.retryable) await this.recordFailure(refund.id, error.message);
      throw error;
    }
  }

  async refundsOf(em: EntityManager, paymentId: string): Promise<Refund[]> {
    return em.find(Refund, { payment: paymentId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  private pending(em: EntityManager, paymentId: string): Promise<Refund[]> {
    return em.find(Refund, { payment: paymentId, status: RefundStatus.PENDING }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** The refund and its payment as committed now. */
  private async current(refund: Refund): Promise<RefundOutcome> {
    const em = this.db.fork();
    return { refund: await em.findOneOrFail(Refund, refund.id), payment: await em.findOneOrFail(Payment, refund.payment.id) };
  }

  /**
   * Under the payment's row lock, so two concurrent requests cannot both take what is left, and
   * a repeat of a recent request (REPEAT_WINDOW_MS; concurrent repeats wait here for the first)
   * answers the refund that request made, PENDING or SUCCEEDED, instead of a second refund.
   */
  private async reserve(actor: Actor, paymentId: string, requested: number | null, reason: string, stripeRefunded: number): Promise<Refund> {
    return this.db.transaction(async (tx) => {
      const payment = await this.transitions.lock(tx, paymentId);
      if (requested !== null) {
        const since = new Date(tx.clock.now().getTime() - REPEAT_WINDOW_MS);
        const repeat = await tx.em.findOne(
          Refund,
          { payment: paymentId, requestedBy: actor.id, amountMinor: requested, reason, status: { $ne: RefundStatus.FAILED }, createdAt: { $gt: since } },
          { orderBy: { createdAt: 'desc', id: 'desc' } },
        );
        if (repeat) return repeat;
      }
      const pendingMinor = (await this.pending(tx.em, paymentId)).reduce((sum, r) => sum + r.amountMinor, 0);
      const remaining = Math.max(0, payment.amountMinor - Math.max(payment.refundedMinor, stripeRefunded) - pendingMinor);
      const amount = requested ?? remaining;
      if (amount < 1 || amount > remaining) throw PaymentOperationError.overRefund(paymentId, amount, remaining);
      const refund = tx.em.create(Refund, { payment: paymentId, amountMinor: amount, currency: payment.currency, reason, requestedBy: actor.id });
      recordAudit(tx, actor, { action: 'refund.request', subjectType: 'payment', subjectId: paymentId, before: { refundedMinor: payment.refundedMinor }, after: { refundId: refund.id, amountMinor: amount, remainingMinor: remaining - amount }, note: reason });
      return refund;
    });
  }

  private async execute(actor: Actor, refund: Refund, paymentIntentId: string): Promise<RefundOutcome> {
    try {
      const done = await this.gateway.refundPaymentIntent(paymentIntentId, refund.amountMinor, refund.reason, refund.idempotencyKey);
      return await this.recordSuccess(actor, refund.id, done.id, await this.refundedAtStripe(paymentIntentId));
    } catch (error) {
      // The same refund is being made right now by the request that first used its key (a double-click): as it stands.
      if (error instanceof GatewayError && error.gatewayCode === KEY_IN_USE) return this.current(refund);
      // A refusal Stripe will repeat (over-refund, charge gone) is final; a timeout or 5xx is not
      // known to have failed, so the refund stays PENDING for the retry to settle.
      if (error instanceof GatewayError && !error.retryable) await this.recordFailure(refund.id, error.message);
      throw error;
    }
  }

  /** Stripe's total refunded after our refund; null when it cannot be read now (we add ours instead). */
  private async refundedAtStripe(paymentIntentId: string): Promise<number | null> {
    try {
      return (await this.gateway.retrievePaymentIntent(paymentIntentId)).amountRefundedMinor;
    } catch (error) {
      this.logger.warn({ err: error, paymentIntentId }, 'could not re-read the refunded total; using our own');
      return null;
    }
  }

  /** `stripeRefundId` null: a Cashfree refund, whose id is our own. */
  private async recordSuccess(actor: Actor, refundId: string, stripeRefundId: string | null, stripeTotal: number | null): Promise<RefundOutcome> {
    return this.db.transaction(async (tx) => {
      const { payment: of } = await tx.em.findOneOrFail(Refund, refundId, { fields: ['payment'] });
      const payment = await this.transitions.lock(tx, of.id);
      // Read under the lock: another request answered for the same refund may have recorded it first.
      const refund = await tx.em.findOneOrFail(Refund, refundId, { refresh: true });
      if (refund.status === RefundStatus.SUCCEEDED) return { refund, payment };
      const before = { status: payment.status, refundedMinor: payment.refundedMinor };
      Object.assign(refund, { status: RefundStatus.SUCCEEDED, stripeRefundId, completedAt: tx.clock.now(), failureMessage: null });
      await tx.em.flush();
      const ours = (await tx.em.find(Refund, { payment: payment.id, status: RefundStatus.SUCCEEDED })).reduce((sum, r) => sum + r.amountMinor, 0);
      const outcome = await this.sync.recordRefund(tx, actor, payment, stripeTotal ?? Math.max(payment.refundedMinor, ours), `refund: ${refund.reason}`);
      recordAudit(tx, actor, { action: 'payment.refund', subjectType: 'payment', subjectId: payment.id, before, after: { status: payment.status, refundedMinor: payment.refundedMinor, refundId: refund.id, stripeRefundId, amountMinor: refund.amountMinor }, note: `${refund.reason} (${outcome})` });
      await this.resolveRefundFailed(tx, actor, payment);
      return { refund, payment };
    });
  }

  /**
   * A refund that failed at Stripe lowered the refunded total (REFUND_FAILED, "refund again"). Once
   * a refund has brought the total back to where it stood before the latest failure, the customer
   * has the money that did not reach them: the alert is resolved in the same transaction.
   */
  private async resolveRefundFailed(tx: Tx, actor: Actor, payment: Payment): Promise<void> {
    const rows: Array<{ before_minor: number | null }> = await tx.em.execute(
      `select (before->>'refundedMinor')::int as before_minor from audit_entries where subject_type = 'payment' and subject_id = ? and action = ? order by at desc, created_at desc limit 1`,
      [payment.id, REFUND_FAILED_ACTION],
    );
    const owedBack = rows[0]?.before_minor;
    if (owedBack === undefined || owedBack === null || payment.refundedMinor < owedBack) return;
    const note = `refunded again by ${actor.id}: ${payment.refundedMinor} of ${payment.amountMinor} ${payment.currency.toUpperCase()} refunded`;
    await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.REFUND_FAILED, 'payment', payment.id), note, 'refunds');
  }

  private async recordFailure(refundId: string, message: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const refund = await tx.em.findOneOrFail(Refund, refundId);
      Object.assign(refund, { status: RefundStatus.FAILED, failureMessage: message.slice(0, 500), completedAt: tx.clock.now() });
    });
  }
}
