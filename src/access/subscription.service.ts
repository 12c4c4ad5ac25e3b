import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit, recordAuditMany, type AuditRecord } from '../audit/audit.service';
import { Plan } from '../catalog/plan.entity';
import { CaptureMode } from '../catalog/plan.entity';
import { systemActor, type Tx } from '../platform/database/transaction';
import type { Payment } from '../payments/payment.entity';
import { PaymentStatus } from '../payments/payment-status';
import type { PaidManyListener, TransitionListener } from '../payments/payment-transitions.service';
import { newId } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Subscription, SubscriptionStatus } from './subscription.entity';

const DAY_MS = 86_400_000;

/** The columns the batch path reads of a subscription. */
interface SubscriptionRow {
  id: string;
  customer_id: string;
  bundle_id: string;
  status: SubscriptionStatus;
  current_period_start: Date;
  current_period_end: Date;
  stripe_customer_id: string | null;
  stripe_payment_method_id: string | null;
}
const actor = systemActor('subscriptions');

/**
 * Subscriptions follow payments: a paid payment creates the customer's subscription to the bundle
 * or extends it from its current end (never shortening time already paid for), in the paying
 * transition's own transaction.
 */
/** Runs in the transaction that ended the access (e.g. queues the removal from the channels). */
export type AccessEndedListener = (tx: Tx, subscription: Subscription, payment: Payment, reason: string) => Promise<void>;

const UNPAID_REASON: Partial<Record<PaymentStatus, string>> = {
  [PaymentStatus.REFUNDED]: 'payment refunded',
  [PaymentStatus.DISPUTED]: 'payment disputed',
  [PaymentStatus.CANCELLED]: 'authorization released',
};

/**
 * Whether a payment extends the subscription from its current end (else from now). A running
 * period is extended. So is a PAST_DUE one, although its end has passed: the customer kept access
 * through the renewal grace while its charge was retried, and this payment (the retry that
 * worked, or a checkout) pays for the period after the old one, not for a period from today.
 */
export function continuesPeriod(status: SubscriptionStatus, currentPeriodEnd: Date, now: Date): boolean {
  if (status === SubscriptionStatus.PAST_DUE) return true;
  return status !== SubscriptionStatus.LAPSED && currentPeriodEnd > now;
}

export class SubscriptionService {
  private readonly accessEndedListeners: AccessEndedListener[] = [];

  onAccessEnded(listener: AccessEndedListener): void {
    this.accessEndedListeners.push(listener);
  }

  /** A status-change listener (registered in order in src/app/services.ts): access starts and ends with the money. */
  readonly onTransition: TransitionListener = async (tx, { payment, from, to }) => {
    const paid = to === PaymentStatus.SUCCEEDED || (to === PaymentStatus.AUTHORIZED && payment.captureMode === CaptureMode.MANUAL);
    // Under manual capture access starts at authorization; the later capture must not extend again.
    const alreadyCounted = to === PaymentStatus.SUCCEEDED && payment.captureMode === CaptureMode.MANUAL && payment.authorizedAt;
    if (paid && !alreadyCounted && !payment.refundRequestedAt) await this.extendForPayment(tx, payment);
    // The money went back (a full refund), is held back by the bank (a dispute) or never arrived
    // (an authorization released). A partial refund moves no status and ends nothing.
    const unpaid = to === PaymentStatus.REFUNDED || to === PaymentStatus.DISPUTED || (to === PaymentStatus.CANCELLED && from === PaymentStatus.AUTHORIZED);
    if (unpaid) await this.endAccessFor(tx, payment, UNPAID_REASON[to]!);
  };

  /**
   * The subscription this payment last paid for lapses now, and the onAccessEnded listeners (the
   * removal from the channels) run in the same transaction. A subscription since renewed by another
   * payment, or lapsed already, is left alone: a redelivered event ends nothing twice.
   */
  async endAccessFor(tx: Tx, payment: Payment, reason: string): Promise<Subscription | null> {
    const subscription = await tx.em.findOne(Subscription, { lastPaymentId: payment.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!subscription || subscription.status === SubscriptionStatus.LAPSED) return null;
    const now = tx.clock.now();
    const before = { status: subscription.status, currentPeriodEnd: subscription.currentPeriodEnd.toISOString() };
    Object.assign(subscription, { status: SubscriptionStatus.LAPSED, lapsedAt: now, currentPeriodEnd: now < subscription.currentPeriodEnd ? now : subscription.currentPeriodEnd });
    recordAudit(tx, actor, {
      action: 'subscription.end',
      subjectType: 'subscription',
      subjectId: subscription.id,
      before,
      after: { status: subscription.status, currentPeriodEnd: subscription.currentPeriodEnd.toISOString(), paymentId: payment.id },
      note: reason,
    });
    tx.publish(Topic.ACCESS_CHANGED, { customerId: payment.customer.id, bundleId: payment.bundle.id, subscriptionId: subscription.id, status: subscription.status, at: now });
    for (const listener of this.accessEndedListeners) await listener(tx, subscription, payment, reason);
    return subscription;
  }

  /** Active (or past-due) paid subscriptions, keyset-paged by id, for the nightly reconciliation. */
  async activePage(em: EntityManager, afterId: string | null, limit: number): Promise<Array<{ id: string; customerId: string; bundleId: string; lastPaymentId: string | null }>> {
    const rows: Array<{ id: string; customer_id: string; bundle_id: string; last_payment_id: string | null }> = await em.execute(
      `select id, customer_id, bundle_id, last_payment_id from subscriptions
        where status in ('ACTIVE', 'PAST_DUE') and is_test = false and (?::uuid is null or id > ?::uuid) order by id limit ?`,
      [afterId, afterId, limit],
    );
    return rows.map((r) => ({ id: r.id, customerId: r.customer_id, bundleId: r.bundle_id, lastPaymentId: r.last_payment_id }));
  }

  async extendForPayment(tx: Tx, payment: Payment): Promise<Subscription> {
    const plan = await tx.em.findOneOrFail(Plan, payment.plan.id);
    const now = tx.clock.now();
    const existing = await tx.em.findOne(Subscription, { customer: payment.customer.id, bundle: payment.bundle.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const running = existing && continuesPeriod(existing.status, existing.currentPeriodEnd, now);
    const start = running ? existing.currentPeriodStart : now;
    const from = running ? existing.currentPeriodEnd : now;
    const subscription = existing ?? tx.em.create(Subscription, { customer: payment.customer.id, bundle: payment.bundle.id, currentPeriodStart: now, currentPeriodEnd: now });
    const before = existing ? { status: existing.status, currentPeriodEnd: existing.currentPeriodEnd.toISOString() } : null;
    Object.assign(subscription, {
      status: SubscriptionStatus.ACTIVE,
      currentPeriodStart: start,
      currentPeriodEnd: new Date(from.getTime() + plan.durationDays * DAY_MS),
      lastPaymentId: payment.id,
      lapsedAt: null,
      accessRemovedAt: null,
      removalError: null,
      stripeCustomerId: payment.stripeCustomerId ?? subscription.stripeCustomerId,
      stripePaymentMethodId: payment.stripePaymentMethodId ?? subscription.stripePaymentMethodId,
    });
    tx.em.persist(subscription);
    recordAudit(tx, actor, {
      action: existing ? 'subscription.extend' : 'subscription.create',
      subjectType: 'subscription',
      subjectId: subscription.id,
      before,
      after: { status: subscription.status, currentPeriodEnd: subscription.currentPeriodEnd.toISOString(), paymentId: payment.id },
    });
    tx.publish(Topic.ACCESS_CHANGED, { customerId: payment.customer.id, bundleId: payment.bundle.id, subscriptionId: subscription.id, status: subscription.status, at: now });
    return subscription;
  }

  /**
   * The batch form of onTransition for PENDING -> SUCCEEDED (PaymentTransitions.succeedMany): what
   * extendForPayment does for each payment, in four statements for the whole batch. The batch holds
   * at most one payment per customer and bundle, none under a refund, none authorized before.
   * A subscription created meanwhile by another transaction makes the INSERT fail, and with it the
   * batch, whose events are then applied one by one.
   */
  readonly onPaidMany: PaidManyListener = async (tx, paid) => {
    if (paid.length === 0) return;
    const now = tx.clock.now();
    const plans: Array<{ id: string; duration_days: number }> = await tx.em.execute(`select id, duration_days from plans where id = any(?::uuid[])`, [`{${[...new Set(paid.map((p) => p.planId))].join(',')}}`]);
    const days = new Map(plans.map((p) => [p.id, p.duration_days]));
    const pairs = JSON.stringify(paid.map((p) => ({ c: p.customerId, b: p.bundleId })));
    const existing: SubscriptionRow[] = await tx.em.execute(
      `select s.id, s.customer_id, s.bundle_id, s.status, s.current_period_start, s.current_period_end, s.stripe_customer_id, s.stripe_payment_method_id
         from subscriptions s where (s.customer_id, s.bundle_id) in (select v.c, v.b from jsonb_to_recordset(?::jsonb) as v(c uuid, b uuid))
        order by s.id for update`,
      [pairs],
    );
    const current = new Map(existing.map((row) => [`${row.customer_id}:${row.bundle_id}`, row]));
    const updates: Array<Record<string, unknown>> = [];
    const inserts: Array<Record<string, unknown>> = [];
    const audits: AuditRecord[] = [];
    for (const payment of paid) {
      const durationDays = days.get(payment.planId);
      if (durationDays === undefined) throw new Error(`plan ${payment.planId} of payment ${payment.id} not found`);
      const sub = current.get(`${payment.customerId}:${payment.bundleId}`);
      const periodEnd = sub ? new Date(sub.current_period_end) : null;
      const running = sub && continuesPeriod(sub.status, periodEnd!, now);
      const start = running ? new Date(sub.current_period_start) : now;
      const end = new Date((running ? periodEnd! : now).getTime() + durationDays * DAY_MS);
      const row = {
        id: sub?.id ?? newId(),
        customer_id: payment.customerId,
        bundle_id: payment.bundleId,
        start,
        end,
        payment_id: payment.id,
        customer: payment.stripeCustomerId ?? sub?.stripe_customer_id ?? null,
        method: payment.stripePaymentMethodId ?? sub?.stripe_payment_method_id ?? null,
      };
      (sub ? updates : inserts).push(row);
      audits.push({
        action: sub ? 'subscription.extend' : 'subscription.create',
        subjectType: 'subscription',
        subjectId: row.id,
        before: sub ? { status: sub.status, currentPeriodEnd: periodEnd!.toISOString() } : null,
        after: { status: SubscriptionStatus.ACTIVE, currentPeriodEnd: end.toISOString(), paymentId: payment.id },
      });
      tx.publish(Topic.ACCESS_CHANGED, { customerId: payment.customerId, bundleId: payment.bundleId, subscriptionId: row.id, status: SubscriptionStatus.ACTIVE, at: now }, payment.id);
    }
    const written = new Date(); // created_at/updated_at from the wall clock, as the entity does
    const values = `jsonb_to_recordset(?::jsonb) as v(id uuid, customer_id uuid, bundle_id uuid, start timestamptz, "end" timestamptz, payment_id uuid, customer text, method text)`;
    if (updates.length > 0) {
      await tx.em.execute(
        `update subscriptions s set updated_at = ?, status = 'ACTIVE', current_period_start = v.start, current_period_end = v."end", last_payment_id = v.payment_id,
                lapsed_at = null, access_removed_at = null, removal_error = null, stripe_customer_id = v.customer, stripe_payment_method_id = v.method
           from ${values} where s.id = v.id`,
        [written, JSON.stringify(updates)],
      );
    }
    if (inserts.length > 0) {
      await tx.em.execute(
        `insert into subscriptions (id, created_at, updated_at, customer_id, bundle_id, status, current_period_start, current_period_end, auto_renew, stripe_customer_id, stripe_payment_method_id, last_payment_id, is_test)
         select v.id, ?, ?, v.customer_id, v.bundle_id, 'ACTIVE', v.start, v."end", false, v.customer, v.method, v.payment_id, false from ${values}`,
        [written, written, JSON.stringify(inserts)],
      );
    }
    await recordAuditMany(tx, actor, audits);
  };
}
