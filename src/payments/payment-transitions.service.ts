import { LockMode } from '@mikro-orm/core';
import { recordAudit, recordAuditMany } from '../audit/audit.service';
import type { CaptureMode } from '../catalog/plan.entity';
import type { Actor, Tx } from '../platform/database/transaction';
import { isUuid } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Payment } from './payment.entity';
import { PaymentError } from './payment.errors';
import type { PaymentKind } from './payment-kind';
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

/**
 * A payment as the batch path reads it (one SELECT for a whole batch, no entity): the columns
 * its checks and the batch listeners need.
 */
export interface PaymentRow {
  id: string;
  customerId: string;
  planId: string;
  bundleId: string;
  amountMinor: number;
  currency: string;
  status: PaymentStatus;
  kind: PaymentKind;
  captureMode: CaptureMode;
  stripePaymentIntentId: string | null;
  stripeCheckoutSessionId: string | null;
  stripeCustomerId: string | null;
  stripePaymentMethodId: string | null;
  refundedMinor: number;
  refundRequestedAt: Date | null;
  disputedAt: Date | null;
  authorizedAt: Date | null;
  paidAt: Date | null;
}

type SnakeCase<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}` : S;

export const PAYMENT_ROW_COLUMNS = `p.id, p.customer_id, p.plan_id, p.bundle_id, p.amount_minor, p.currency, p.status, p.kind, p.capture_mode,
  p.stripe_payment_intent_id, p.stripe_checkout_session_id, p.stripe_customer_id, p.stripe_payment_method_id,
  p.refunded_minor, p.refund_requested_at, p.disputed_at, p.authorized_at, p.paid_at`;

/** A row selected with PAYMENT_ROW_COLUMNS, as the driver returns it. */
export function paymentRowOf(row: Record<string, unknown>): PaymentRow {
  const r = row as { [K in keyof PaymentRow as SnakeCase<K & string>]: PaymentRow[K] };
  return {
    id: r.id,
    customerId: r.customer_id,
    planId: r.plan_id,
    bundleId: r.bundle_id,
    amountMinor: r.amount_minor,
    currency: r.currency,
    status: r.status,
    kind: r.kind,
    captureMode: r.capture_mode,
    stripePaymentIntentId: r.stripe_payment_intent_id,
    stripeCheckoutSessionId: r.stripe_checkout_session_id,
    stripeCustomerId: r.stripe_customer_id,
    stripePaymentMethodId: r.stripe_payment_method_id,
    refundedMinor: r.refunded_minor,
    refundRequestedAt: r.refund_requested_at,
    disputedAt: r.disputed_at,
    authorizedAt: r.authorized_at,
    paidAt: r.paid_at,
  };
}

/** One payment of a batch to move PENDING -> SUCCEEDED, with the gateway ids to attach where ours are empty. */
export interface SucceedItem {
  payment: PaymentRow;
  reason: string;
  stripePaymentIntentId: string | null;
  stripeCustomerId: string | null;
  stripePaymentMethodId: string | null;
}

/**
 * Called in the batch's transaction after its payments are written SUCCEEDED: what a
 * TransitionListener does for one PENDING -> SUCCEEDED change, for many in set-based SQL.
 */
export type PaidManyListener = (tx: Tx, paid: PaymentRow[]) => Promise<void>;

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
  private readonly paidManyListeners: PaidManyListener[] = [];

  onTransition(listener: TransitionListener): void {
    this.listeners.push(listener);
  }

  /** The batch form of the listeners that act on PENDING -> SUCCEEDED; registered in the same order. */
  onPaidMany(listener: PaidManyListener): void {
    this.paidManyListeners.push(listener);
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

  /**
   * PENDING -> SUCCEEDED for many payments at once, in set-based SQL: what transition() writes for
   * each (status, its times, the audit entry, the publish after commit), then the onPaidMany
   * listeners. The caller holds the rows locked and has checked each is PENDING and owes nothing
   * else (no refund or dispute noted, not a renewal); a row that is not PENDING is left alone.
   * Returns the payments moved, as they now are.
   */
  async succeedMany(tx: Tx, actor: Actor, items: SucceedItem[]): Promise<PaymentRow[]> {
    if (items.length === 0) return [];
    const now = tx.clock.now();
    const values = items.map((i) => ({ id: i.payment.id, intent: i.stripePaymentIntentId, customer: i.stripeCustomerId, method: i.stripePaymentMethodId }));
    const rows: Array<Record<string, unknown>> = await tx.em.execute(
      `update payments p set status = 'SUCCEEDED', status_changed_at = ?, succeeded_at = ?, paid_at = coalesce(p.paid_at, ?), updated_at = ? /* the wall clock, as the entity's onUpdate */,
              stripe_payment_intent_id = coalesce(p.stripe_payment_intent_id, v.intent),
              stripe_customer_id = coalesce(p.stripe_customer_id, v.customer),
              stripe_payment_method_id = coalesce(p.stripe_payment_method_id, v.method)
         from jsonb_to_recordset(?::jsonb) as v(id uuid, intent text, customer text, method text)
        where p.id = v.id and p.status = 'PENDING'
        returning ${PAYMENT_ROW_COLUMNS}`,
      [now, now, now, new Date(), JSON.stringify(values)],
    );
    const moved = new Map(rows.map((r) => [r.id as string, paymentRowOf(r)]));
    const applied = items.filter((i) => moved.has(i.payment.id));
    await recordAuditMany(
      tx,
      actor,
      applied.map((i) => ({ action: 'payment.transition', subjectType: 'payment', subjectId: i.payment.id, before: { status: PaymentStatus.PENDING }, after: { status: PaymentStatus.SUCCEEDED }, note: i.reason })),
    );
    const paid = applied.map((i) => moved.get(i.payment.id)!);
    for (const listener of this.paidManyListeners) await listener(tx, paid);
    for (const i of applied) {
      const event: PaymentStatusChangedPayload = { paymentId: i.payment.id, customerId: i.payment.customerId, from: PaymentStatus.PENDING, to: PaymentStatus.SUCCEEDED, at: now, actor: actor.id, reason: i.reason };
      tx.publish(Topic.PAYMENT_STATUS_CHANGED, event, i.payment.id);
    }
    return paid;
  }
}
