import { LockMode } from '@mikro-orm/core';
import type { InviteLinkService } from '../access/invite-link.service';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { CatalogService } from '../catalog/catalog.service';
import { Plan } from '../catalog/plan.entity';
import type { Config } from '../platform/config';
import { Customer } from '../customers/customer.entity';
import type { Database, Tx } from '../platform/database/transaction';
import { Payment } from '../payments/payment.entity';
import { retryDelayMs } from '../platform/shared/backoff';
import type { Logger } from '../platform/observability/logger';
import { Topic } from '../platform/shared/topics';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { TelegramError } from '../integrations/telegram/telegram.errors';
import { formatDeliveryMessage } from './delivery-message';
import { DeliveryStatus } from './delivery-status';

export type ClaimVia = 'dispatch' | 'sweep' | 'startup' | 'operator';

export interface DeliveryOutcome {
  paymentId: string;
  status: DeliveryStatus;
  attempts: number;
  reason: string | null;
  /** When a retry is due (PENDING after a retryable failure). */
  retryAt: Date | null;
}

export interface DeliveryStatusChangedPayload {
  paymentId: string;
  customerId: string;
  from: DeliveryStatus | null;
  to: DeliveryStatus;
  attempts: number;
  reason: string | null;
  recovered: boolean;
  at: Date;
}

export type DeliveryChangeListener = (event: DeliveryStatusChangedPayload) => void;

/** A sweep's claim: the rows and the lease end it wrote on them, which also identifies the claim. */
export interface Claim {
  ids: string[];
  leaseUntil: Date;
}

const CLAIMABLE = `delivery_status in ('PENDING', 'IN_PROGRESS')`;

/**
 * The sweep's claim (exported so the sweep bench can EXPLAIN exactly this statement). `(select ?)`
 * hides the time from the planner on purpose: with it in plain sight, Postgres multiplies the
 * selectivity of "due" by that of the status (the two are correlated: only open rows have a next
 * attempt), expects a few dozen rows and sorts every due row instead of reading the first `limit`
 * in index order. With 10,000 due rows that was 60 ms instead of 6.
 */
export function claimDueSql(via: 'sweep' | 'startup'): string {
  const freshToo = via === 'startup' ? `or (delivery_status = 'PENDING' and delivery_attempts = 0)` : '';
  return `update payments set delivery_status = 'IN_PROGRESS', delivery_next_attempt_at = ?, updated_at = ?
        where id in (select id from payments where ${CLAIMABLE} and (delivery_next_attempt_at <= (select ?::timestamptz) ${freshToo})
                      order by delivery_next_attempt_at limit ? for update skip locked)
        returning id`;
}

/**
 * Delivers a paid payment's invite links. The payment row is the queue: a claim is one UPDATE that
 * moves the row to IN_PROGRESS with a lease (deliveryNextAttemptAt), so two workers never attempt
 * one payment at once and a worker that dies gives the row back when the lease runs out. Telegram
 * is called outside any transaction; the outcome is recorded after.
 */
export class DeliveryService {
  private readonly changeListeners: DeliveryChangeListener[] = [];

  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly links: InviteLinkService,
    private readonly catalog: CatalogService,
    private readonly alerts: AlertService,
    private readonly settings: Config['delivery'],
    private readonly logger: Logger,
  ) {}

  /** In the paying transition's transaction: the payment now owes a delivery. */
  markDue(tx: Tx, payment: Payment): void {
    if (payment.deliveryStatus !== null) return;
    const now = tx.clock.now();
    payment.deliveryStatus = DeliveryStatus.PENDING;
    payment.deliveryAttempts = 0;
    // The immediate dispatch claims it at once; the periodic sweep only after the grace period.
    payment.deliveryNextAttemptAt = new Date(now.getTime() + this.settings.graceMs);
    this.publishChange(tx, payment, null);
  }

  /** A payment that stopped being paid before delivery (refunded, cancelled) owes nothing. */
  cancelOwed(tx: Tx, payment: Payment, reason: string): void {
    const open = [DeliveryStatus.PENDING, DeliveryStatus.IN_PROGRESS, DeliveryStatus.AWAITING_CUSTOMER];
    if (!payment.deliveryStatus || !open.includes(payment.deliveryStatus)) return;
    const from = payment.deliveryStatus;
    payment.deliveryStatus = DeliveryStatus.FAILED;
    payment.deliveryNextAttemptAt = null;
    payment.deliveryFailureReason = reason;
    this.publishChange(tx, payment, from);
  }

  /**
   * Claims one payment for an attempt now and answers the claim's lease end (which identifies the
   * claim: see holdClaim); null when it is not claimable (done, or claimed elsewhere).
   */
  async claimOne(paymentId: string, via: ClaimVia): Promise<Date | null> {
    const now = this.db.clock.now();
    const leaseUntil = new Date(now.getTime() + this.settings.leaseMs);
    const fresh = via === 'dispatch' || via === 'operator' ? `or (delivery_status = 'PENDING' and delivery_attempts = 0)` : '';
    const rows: Array<{ id: string }> = await this.db.fork().execute(
      `update payments set delivery_status = 'IN_PROGRESS', delivery_next_attempt_at = ?, updated_at = ?
        where id = ? and ${CLAIMABLE} and (delivery_next_attempt_at <= ? ${fresh}) returning id`,
      [leaseUntil, now, paymentId, now],
    );
    return rows.length > 0 ? leaseUntil : null;
  }

  /**
   * Claims up to `limit` due payments (FOR UPDATE SKIP LOCKED: instances sweeping together take
   * different rows). At start-up fresh PENDING rows are taken at once: this process may have
   * died before dispatching them.
   */
  async claimDue(limit: number, via: 'sweep' | 'startup'): Promise<Claim> {
    const now = this.db.clock.now();
    const leaseUntil = new Date(now.getTime() + this.settings.leaseMs);
    const rows: Array<{ id: string }> = await this.db.fork().execute(claimDueSql(via), [leaseUntil, now, now, limit]);
    return { ids: rows.map((r) => r.id), leaseUntil };
  }

  /**
   * Confirms that a claim is still ours and answers its lease end, renewed when less than half is
   * left; null when it is lost. Called before a bulk-claimed row's turn (rows wait behind the
   * concurrency limit) and again just before the message goes out (creating a link per channel
   * against a slow Telegram can outlast a lease). A lease can only run out and be taken by another
   * worker after it ends, and the lease end we wrote identifies our claim: so a confirmed claim
   * is held for at least half a lease, longer than one Telegram call (config checks
   * DELIVERY_LEASE_MS > 2 × TELEGRAM_TIMEOUT_MS), and no payment is ever messaged by two workers.
   */
  async holdClaim(paymentId: string, leaseUntil: Date): Promise<Date | null> {
    const now = this.db.clock.now();
    if (leaseUntil.getTime() - now.getTime() > this.settings.leaseMs / 2) return leaseUntil;
    const renewed = new Date(now.getTime() + this.settings.leaseMs);
    const rows: Array<{ id: string }> = await this.db.fork().execute(
      `update payments set delivery_next_attempt_at = ?, updated_at = ?
        where id = ? and delivery_status = 'IN_PROGRESS' and delivery_next_attempt_at = ? returning id`,
      [renewed, now, paymentId, leaseUntil],
    );
    return rows.length > 0 ? renewed : null;
  }

  /**
   * An operator's retry: a fresh budget, due now. The caller has locked the row, checked that the
   * payment is paid and not delivered, and writes the audit entry in the same transaction.
   */
  reopen(tx: Tx, payment: Payment): void {
    const from = payment.deliveryStatus;
    payment.deliveryStatus = DeliveryStatus.PENDING;
    payment.deliveryAttempts = 0;
    payment.deliveryNextAttemptAt = tx.clock.now();
    this.publishChange(tx, payment, from);
  }

  /**
   * The customer can be reached now (they bound Telegram or started the bot): their deliveries
   * waiting on them are due at once. Attempts are kept, so the retry budget still bounds them.
   * Returns the payment ids; the caller dispatches them after commit.
   */
  async wakeAwaitingCustomer(tx: Tx, customerId: string): Promise<string[]> {
    const waiting = await tx.em.find(Payment, { customer: customerId, deliveryStatus: DeliveryStatus.AWAITING_CUSTOMER }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    for (const payment of waiting) {
      payment.deliveryStatus = DeliveryStatus.PENDING;
      payment.deliveryNextAttemptAt = tx.clock.now();
      this.publishChange(tx, payment, DeliveryStatus.AWAITING_CUSTOMER);
    }
    return waiting.map((payment) => payment.id);
  }

  /**
   * When the earliest owed delivery of a payment paid before `paidBefore` falls due (its retry
   * time, or the end of its claim's lease); null when none is owed. Served by payments_delivery_due.
   */
  async nextDueOwed(paidBefore: Date): Promise<Date | null> {
    const rows: Array<{ at: Date | string }> = await this.db.fork().execute(
      `select delivery_next_attempt_at as at from payments where ${CLAIMABLE} and delivery_next_attempt_at is not null
        and coalesce(paid_at, created_at) <= ? order by delivery_next_attempt_at limit 1`,
      [paidBefore],
    );
    return rows[0] ? new Date(rows[0].at) : null;
  }

  /** By then every row a dead process left is due: its leases have run out, its retries' backoff too. */
  leftoverHorizonMs(): number {
    return Math.max(this.settings.leaseMs, this.settings.backoffCapMs);
  }

  /** Called after commit with every status change this process makes (feeds the stats push). */
  onChange(listener: DeliveryChangeListener): void {
    this.changeListeners.push(listener);
  }

  /** One attempt for a claimed payment. Never throws: every failure is recorded as an outcome. */
  async attempt(paymentId: string, via: ClaimVia, leaseUntil: Date): Promise<DeliveryOutcome> {
    const em = this.db.fork();
    const payment = await em.findOneOrFail(Payment, paymentId);
    const customer = await em.findOneOrFail(Customer, payment.customer.id);
    const plan = await em.findOneOrFail(Plan, payment.plan.id);
    const log = this.logger.child({ paymentId, via, attempt: payment.deliveryAttempts + 1 });
    let lease = leaseUntil;
    try {
      const channels = await this.catalog.channelsOf(em, payment.bundle.id);
      const links = await this.links.ensureLinks(payment, channels);
      if (!customer.telegramUserId) return await this.record(paymentId, via, lease, { kind: 'awaiting', reason: 'customer has no Telegram account linked yet' });
      const paidAt = payment.paidAt ?? payment.succeededAt ?? payment.createdAt;
      const text = formatDeliveryMessage({
        planName: plan.name,
        durationDays: plan.durationDays,
        periodEnd: new Date(paidAt.getTime() + plan.durationDays * 86_400_000),
        links: links.map(({ link, channel }) => ({ channelTitle: channel.title, url: link.telegramInviteLink, expiresAt: link.expiresAt })),
      });
      // The last moment to find that our claim ran out while the links were made: once sent, sent.
      const held = await this.holdClaim(paymentId, lease);
      if (!held) {
        log.warn('claim lost before sending: another worker owns this delivery now');
        return await this.currentOutcome(paymentId);
      }
      lease = held;
      await this.telegram.sendMessage(customer.telegramUserId, text);
      log.info({ channels: links.length }, 'delivered');
      return await this.record(paymentId, via, lease, { kind: 'delivered' });
    } catch (error) {
      const outcome = this.classify(error);
      log.warn({ err: (error as Error).message, outcome: outcome.kind }, 'delivery attempt failed');
      return this.record(paymentId, via, lease, outcome);
    }
  }

  /** The payment's delivery as it stands, for an attempt that was not ours to record. */
  private async currentOutcome(paymentId: string): Promise<DeliveryOutcome> {
    const payment = await this.db.fork().findOneOrFail(Payment, paymentId);
    return { paymentId, status: payment.deliveryStatus!, attempts: payment.deliveryAttempts, reason: payment.deliveryFailureReason, retryAt: null };
  }

  private classify(error: unknown): FailureKind {
    if (error instanceof TelegramError) {
      if (error.failure === 'CANT_INITIATE') return { kind: 'awaiting', reason: 'the customer has not started a chat with the bot' };
      if (error.retryable) return { kind: 'retry', reason: error.message, retryAfterMs: error.retryAfterMs };
      return { kind: 'permanent', reason: error.message };
    }
    return { kind: 'retry', reason: `unexpected: ${(error as Error).message ?? String(error)}`, retryAfterMs: null };
  }

  private async record(paymentId: string, via: ClaimVia, lease: Date, result: FailureKind | { kind: 'delivered' }): Promise<DeliveryOutcome> {
    return this.db.transaction(async (tx) => {
      const payment = await tx.em.findOneOrFail(Payment, paymentId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const from = payment.deliveryStatus;
      const now = tx.clock.now();
      // Our lease ran out and another worker claimed the row (its lease end is not ours) or
      // finished it: what it records stands, ours would overwrite it.
      if (from !== DeliveryStatus.IN_PROGRESS || payment.deliveryNextAttemptAt?.getTime() !== lease.getTime()) {
        return { paymentId, status: from!, attempts: payment.deliveryAttempts, reason: payment.deliveryFailureReason, retryAt: payment.deliveryNextAttemptAt };
      }
      payment.deliveryAttempts += 1;
      payment.deliveryLastAttemptAt = now;
      payment.deliveryNextAttemptAt = null;
      if (result.kind === 'delivered') {
        payment.deliveryStatus = DeliveryStatus.DELIVERED;
        payment.deliveredAt = now;
        payment.deliveryFailureReason = null;
        // Recovered: an earlier attempt failed, or the sweep found what the immediate path missed.
        payment.deliveryRecovered = payment.deliveryAttempts > 1 || via === 'sweep' || via === 'startup' || via === 'operator';
      } else if (result.kind === 'awaiting') {
        payment.deliveryStatus = DeliveryStatus.AWAITING_CUSTOMER;
        payment.deliveryFailureReason = result.reason;
      } else if (result.kind === 'retry' && payment.deliveryAttempts < this.settings.maxAttempts) {
        payment.deliveryStatus = DeliveryStatus.PENDING;
        payment.deliveryFailureReason = result.reason;
        const backoff = retryDelayMs(payment.deliveryAttempts, { baseMs: this.settings.backoffBaseMs, capMs: this.settings.backoffCapMs, jitter: 0.2 });
        payment.deliveryNextAttemptAt = new Date(now.getTime() + Math.max(backoff, result.retryAfterMs ?? 0));
      } else {
        const spent = result.kind === 'retry' ? ` (gave up after ${payment.deliveryAttempts} attempts)` : '';
        await this.fail(tx, payment, `${result.reason}${spent}`);
      }
      if (payment.deliveryStatus !== from) this.publishChange(tx, payment, from);
      return { paymentId, status: payment.deliveryStatus!, attempts: payment.deliveryAttempts, reason: payment.deliveryFailureReason, retryAt: payment.deliveryNextAttemptAt };
    });
  }

  private async fail(tx: Tx, payment: Payment, reason: string): Promise<void> {
    payment.deliveryStatus = DeliveryStatus.FAILED;
    payment.deliveryFailureReason = reason;
    await this.alerts.raise(tx, {
      type: AlertType.DELIVERY_FAILED,
      severity: AlertSeverity.HIGH,
      title: 'Invite links could not be delivered',
      detail: `Payment ${payment.id} (customer ${payment.customer.id}): ${reason}. Fix the cause, then run recoverPayment.`,
      subjectType: 'payment',
      subjectId: payment.id,
    });
  }

  publishChange(tx: Tx, payment: Payment, from: DeliveryStatus | null): void {
    const event: DeliveryStatusChangedPayload = {
      paymentId: payment.id,
      customerId: payment.customer.id,
      from,
      to: payment.deliveryStatus!,
      attempts: payment.deliveryAttempts,
      reason: payment.deliveryFailureReason,
      recovered: payment.deliveryRecovered,
      at: tx.clock.now(),
    };
    tx.publish(Topic.DELIVERY_STATUS_CHANGED, event);
    for (const listener of this.changeListeners) tx.afterCommit(() => listener(event));
  }
}

type FailureKind =
  | { kind: 'awaiting'; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs: number | null }
  | { kind: 'permanent'; reason: string };
