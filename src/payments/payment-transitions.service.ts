import { LockMode } from '@mikro-orm/core';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Tx } from '../platform/database/transaction';
import { isUuid } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Payment } from './payment.entity';
import { PaymentError } from './payment.errors';
import { decideTransition, PaymentStatus, STATUS_TIMESTAMP } from './payment-status';

export interface TransitionOptions {
  reason?: string;
  failureCode?: string | null;
  failureMessage?: string | null;
}

export interface TransitionResult {
  payment: Payment;
  from: PaymentStatus;
  /** applied: status changed; noop: already there; skipped: already past the target. */
  outcome: 'applied' | 'noop' | 'skipped';
}

/** Called inside the transition's transaction, after the status is written (e.g. delivery starts). */
export type TransitionListener = (tx: Tx, change: { payment: Payment; from: PaymentStatus; to: PaymentStatus }) => Promise<void>;

export interface PaymentStatusChangedPayload {
  paymentId: string;
  customerId: string;
  from: PaymentStatus;
  to: PaymentStatus;
  at: Date;
  actor: string;
  reason: string | null;
}

/**
 * The only writer of Payment.status. Each transition locks the row, checks the from-state,
 * stamps the status time, appends an audit entry and publishes after commit — all in the
 * caller's transaction.
 */
export class PaymentTransitions {
  private readonly listeners: TransitionListener[] = [];

  onTransition(listener: TransitionListener): void {
    this.listeners.push(listener);
  }

  /**
   * The payment, locked FOR UPDATE for the rest of the transaction. A row this transaction locked
   * already (the webhook that found it, an earlier transition) is not read again: nobody else can
   * have changed it, and the identity map holds our copy.
   */
  async lock(tx: Tx, paymentId: string): Promise<Payment> {
    const held = tx.holdsLock(Payment.name, paymentId) ? tx.em.getUnitOfWork().getById<Payment>(Payment.name, paymentId) : undefined;
    if (held) return held;
    const payment = isUuid(paymentId) ? await tx.em.findOne(Payment, paymentId, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    if (!payment) throw PaymentError.notFound(paymentId);
    tx.markLocked(Payment.name, payment.id);
    return payment;
  }

  async transition(tx: Tx, actor: Actor, paymentId: string, to: PaymentStatus, options: TransitionOptions = {}): Promise<TransitionResult> {
    const payment = await this.lock(tx, paymentId);
    const from = payment.status;
    const decision = decideTransition(from, to);
    if (decision === 'refuse') throw PaymentError.invalidTransition(paymentId, from, to);
    if (decision !== 'apply') return { payment, from, outcome: decision === 'noop' ? 'noop' : 'skipped' };

    const now = tx.clock.now();
    payment.status = to;
    payment.statusChangedAt = now;
    const stamp = STATUS_TIMESTAMP[to];
    if (stamp) payment[stamp] = now;
    if ((to === PaymentStatus.SUCCEEDED || to === PaymentStatus.AUTHORIZED) && !payment.paidAt) payment.paidAt = now;
    if (to === PaymentStatus.FAILED) {
      payment.failureCode = options.failureCode ?? null;
      payment.failureMessage = options.failureMessage ?? null;
    }
    recordAudit(tx, actor, {
      action: 'payment.transition',
      subjectType: 'payment',
      subjectId: payment.id,
      before: { status: from },
      after: { status: to },
      note: options.reason ?? null,
    });
    for (const listener of this.listeners) await listener(tx, { payment, from, to });
    const event: PaymentStatusChangedPayload = {
      paymentId: payment.id,
      customerId: payment.customer.id,
      from,
      to,
      at: now,
      actor: actor.id,
      reason: options.reason ?? null,
    };
    tx.publish(Topic.PAYMENT_STATUS_CHANGED, event);
    return { payment, from, outcome: 'applied' };
  }
}
