import { LockMode } from '@mikro-orm/core';
import { recordAudit, recordAuditMany } from '../audit/audit.service';
import { CaptureMode } from '../catalog/plan.entity';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import { Payment } from '../payments/payment.entity';
import { PaymentStatus } from '../payments/payment-status';
import { AppError, isAppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import type { Logger } from '../platform/observability/logger';
import type { DeliveryDispatcher } from './delivery-dispatcher';
import { Delivery } from './delivery.entity';
import { DeliveryStatus } from './delivery-status';
import type { DeliveryOutcome, DeliveryService } from './delivery.service';
import { reopenFailedRows } from './delivery-store';
import type { RecoverySweep, SweepReport } from './recovery-sweep';

export const MAX_BULK_RECOVERY = 100;

export class DeliveryError extends AppError {
  static notFound(paymentId: string): DeliveryError {
    return new DeliveryError('NOT_FOUND', `Payment ${paymentId} was not found`, { paymentId });
  }

  static notPaid(paymentId: string, status: PaymentStatus): DeliveryError {
    return new DeliveryError('CONFLICT', `Payment ${paymentId} is ${status}, not paid: it owes no delivery`, { paymentId, status });
  }

  static alreadyDelivered(paymentId: string): DeliveryError {
    return new DeliveryError('CONFLICT', `Payment ${paymentId} was already delivered`, { paymentId });
  }

  static inProgress(paymentId: string, leaseUntil: Date): DeliveryError {
    return new DeliveryError('CONFLICT', `Payment ${paymentId} is being delivered right now; try again after ${leaseUntil.toISOString()}`, { paymentId });
  }
}

/** One id's answer in a bulk recovery: errors are data, so one bad id does not hide the others. */
export interface RecoveryResult {
  paymentId: string;
  ok: boolean;
  status: DeliveryStatus | null;
  attempts: number | null;
  errorCode: string | null;
  message: string | null;
}

const isPaid = (p: Payment): boolean =>
  p.status === PaymentStatus.SUCCEEDED || (p.status === PaymentStatus.AUTHORIZED && p.captureMode === CaptureMode.MANUAL);

/**
 * What operators do about deliveries: recover a payment (a fresh retry budget, an attempt now) and
 * force the recovery sweep. Every action is audited with who did it.
 */
export class DeliveryAdmin {
  constructor(
    private readonly db: Database,
    private readonly delivery: DeliveryService,
    private readonly dispatcher: DeliveryDispatcher,
    private readonly sweep: RecoverySweep,
    private readonly concurrency: number,
    private readonly logger: Logger,
  ) {}

  /** Throws NOT_FOUND or CONFLICT; otherwise the outcome of the attempt it made. */
  async recoverOne(actor: Actor, paymentId: string): Promise<DeliveryOutcome> {
    await this.reopen(actor, paymentId);
    const [outcome] = await this.deliverNow([paymentId]);
    return outcome;
  }

  /** A result per distinct id, in the order given. */
  async recoverMany(actor: Actor, paymentIds: string[]): Promise<RecoveryResult[]> {
    if (paymentIds.length > MAX_BULK_RECOVERY) throw AppError.badInput(`At most ${MAX_BULK_RECOVERY} payment ids at a time`, { max: MAX_BULK_RECOVERY });
    const ids = [...new Set(paymentIds)];
    const refused = new Map<string, RecoveryResult>();
    for (const id of ids) {
      try {
        await this.reopen(actor, id);
      } catch (error) {
        refused.set(id, this.asResult(id, error));
      }
    }
    const outcomes = await this.deliverNow(ids.filter((id) => !refused.has(id)));
    const byId = new Map(outcomes.map((o) => [o.paymentId, o]));
    return ids.map((id) => refused.get(id) ?? this.okResult(byId.get(id)!));
  }

  /**
   * "Process all failed deliveries now": up to MAX_BULK_RECOVERY FAILED deliveries of payments
   * still paid get a fresh budget (each audited as delivery.recover), then the recovery sweep runs
   * in this request and delivers them with whatever else is due. Answers the sweep's counts and
   * how many failed ones were reopened.
   */
  async forceSweep(actor: Actor): Promise<SweepReport & { reopenedFailed: number }> {
    const reopenedFailed = await this.reopenFailed(actor, MAX_BULK_RECOVERY);
    const report = { ...(await this.sweep.run('sweep')), reopenedFailed };
    await this.db.transaction(async (tx) => {
      recordAudit(tx, actor, { action: 'delivery.sweep', subjectType: 'recovery_sweep', subjectId: tx.clock.now().toISOString(), after: { ...report } });
    });
    return report;
  }

  private async reopenFailed(actor: Actor, limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await reopenFailedRows(tx.em, limit, tx.clock.now());
      for (const row of rows) this.delivery.publishChange(tx, row.customer_id, row, DeliveryStatus.FAILED);
      await recordAuditMany(
        tx,
        actor,
        rows.map((row) => ({
          action: 'delivery.recover',
          subjectType: 'payment',
          subjectId: row.payment_id,
          before: { deliveryStatus: DeliveryStatus.FAILED, deliveryAttempts: row.attempts_before, deliveryFailureReason: row.reason_before },
          after: { deliveryStatus: DeliveryStatus.PENDING, deliveryAttempts: 0 },
          note: 'processFailedDeliveries: a fresh retry budget',
        })),
      );
      return rows.length;
    });
  }

  private async reopen(actor: Actor, paymentId: string): Promise<void> {
    if (!isUuid(paymentId)) throw DeliveryError.notFound(paymentId);
    await this.db.transaction(async (tx) => {
      const payment = await tx.em.findOne(Payment, paymentId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!payment) throw DeliveryError.notFound(paymentId);
      const delivery = await tx.em.findOne(Delivery, { paymentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      this.assertRecoverable(tx, payment, delivery);
      const before = { deliveryStatus: delivery?.status ?? null, deliveryAttempts: delivery?.attempts ?? 0, deliveryFailureReason: delivery?.failureReason ?? null };
      // A paid payment without a delivery (a renewal, a late payment kept) gets one now.
      const owed = delivery ?? tx.em.create(Delivery, { paymentId, status: DeliveryStatus.PENDING, paidAt: payment.paidAt });
      this.delivery.reopen(tx, payment.customer.id, owed);
      recordAudit(tx, actor, { action: 'delivery.recover', subjectType: 'payment', subjectId: payment.id, before, after: { deliveryStatus: owed.status, deliveryAttempts: 0 } });
    });
  }

  private assertRecoverable(tx: Tx, payment: Payment, delivery: Delivery | null): void {
    if (!isPaid(payment)) throw DeliveryError.notPaid(payment.id, payment.status);
    if (delivery?.status === DeliveryStatus.DELIVERED) throw DeliveryError.alreadyDelivered(payment.id);
    // Resetting a live claim would let a second worker send while the first is still sending.
    const lease = delivery?.nextAttemptAt;
    if (delivery?.status === DeliveryStatus.IN_PROGRESS && lease && lease > tx.clock.now()) throw DeliveryError.inProgress(payment.id, lease);
  }

  /**
   * Claims each reopened payment as the operator just before attempting it (a claim taken early
   * could expire while it waits its turn). A payment another worker claimed in between (a sweep, a
   * retry timer) is not attempted twice: its current state is the answer.
   */
  private async deliverNow(ids: string[]): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    const elsewhere: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        const leaseUntil = await this.delivery.claimOne(id, 'operator');
        if (leaseUntil) outcomes.push(...(await this.dispatcher.runClaimed([id], 'operator', leaseUntil)));
        else elsewhere.push(id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
    return [...outcomes, ...(await this.currentOutcomes(elsewhere))];
  }

  private async currentOutcomes(ids: string[]): Promise<DeliveryOutcome[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.fork().find(Delivery, { paymentId: { $in: ids } });
    return rows.map((d) => ({ paymentId: d.paymentId, status: d.status, attempts: d.attempts, reason: d.failureReason, retryAt: null }));
  }

  private okResult(outcome: DeliveryOutcome): RecoveryResult {
    return { paymentId: outcome.paymentId, ok: true, status: outcome.status, attempts: outcome.attempts, errorCode: null, message: outcome.reason };
  }

  private asResult(paymentId: string, error: unknown): RecoveryResult {
    if (isAppError(error)) return { paymentId, ok: false, status: null, attempts: null, errorCode: error.code, message: error.message };
    this.logger.error({ err: error, paymentId }, 'recovering a payment failed');
    return { paymentId, ok: false, status: null, attempts: null, errorCode: 'INTERNAL', message: 'Internal error' };
  }
}
