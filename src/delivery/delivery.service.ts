import type { InviteLinkService } from '../access/invite-link.service';
import { subjectFingerprint, type AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { CatalogService } from '../catalog/catalog.service';
import type { Config } from '../platform/config';
import type { Database, Publisher, Tx } from '../platform/database/transaction';
import { Payment } from '../payments/payment.entity';
import type { Delivery } from './delivery.entity';
import type { LeaseQueue } from '../platform/jobs/lease-queue';
import type { BackoffPolicy } from '../platform/shared/backoff';
import type { Logger } from '../platform/observability/logger';
import { Topic } from '../platform/shared/topics';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { TelegramError } from '../integrations/telegram/telegram.errors';
import { formatDeliveryMessage } from './delivery-message';
import { DeliveryStatus } from './delivery-status';
import { inSpan, PAYMENT_ID } from '../platform/observability/spans';
import { claimDueRows, claimDueSql, claimOneRow, confirmClaim, deliveryQueue, nextDueAt, readAttempt, readRow, recordOutcomeRow, reopenRevokedRow, revokeRow, wakeRows, type DeliveryRow, type OutcomeWrite } from './delivery-store';

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

/**
 * Delivers a paid payment's invite links. The delivery row is the queue: a claim is one UPDATE that
 * moves the row to IN_PROGRESS with a lease (next_attempt_at), so two workers never attempt one
 * payment at once and a worker that dies gives the row back when the lease runs out. Telegram is
 * called outside any transaction; the outcome is recorded after, in one statement.
 */
export class DeliveryService {
  private readonly changeListeners: DeliveryChangeListener[] = [];
  private readonly queue: LeaseQueue;

  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly links: InviteLinkService,
    private readonly catalog: CatalogService,
    private readonly alerts: AlertService,
    private readonly settings: Config['delivery'],
    private readonly logger: Logger,
    private readonly publisher: Publisher,
    backoff: BackoffPolicy,
  ) {
    this.queue = deliveryQueue(settings.leaseMs, backoff);
  }

  /** In the paying transition's transaction: the payment now owes a delivery. False when it already had one. */
  async markDue(tx: Tx, payment: Payment): Promise<boolean> {
    const now = tx.clock.now();
    // The immediate dispatch claims it at once; the periodic sweep only after the grace period.
    const due = new Date(now.getTime() + this.settings.graceMs);
    const rows: DeliveryRow[] = await tx.em.execute(
      `insert into deliveries as d (payment_id, status, attempts, next_attempt_at, paid_at, created_at, updated_at) values (?, 'PENDING', 0, ?, ?, ?, ?)
       on conflict (payment_id) do nothing returning d.payment_id, d.status, d.attempts, d.failure_reason, d.next_attempt_at, d.recovered, d.access_revoked_at`,
      [payment.id, due, payment.paidAt ?? now, now, now],
    );
    if (rows.length === 0) return false;
    this.publishChange(tx, payment.customer.id, rows[0], null);
    return true;
  }

  /**
   * In the transition's transaction: a payment that grants access again (a dispute won) owes its
   * delivery afresh, as markDue does for a new one. False when it has no delivery whose access was
   * taken back (markDue then writes one).
   */
  async markDueAgain(tx: Tx, payment: Payment): Promise<boolean> {
    const now = tx.clock.now();
    const result = await reopenRevokedRow(tx.em, payment.id, new Date(now.getTime() + this.settings.graceMs), now);
    if (!result) return false;
    this.publishChange(tx, payment.customer.id, result.row, result.before);
    return true;
  }

  /**
   * markDue for a batch of payments just paid (PaymentTransitions.succeedMany), in one statement.
   * Returns the ids that now owe a delivery (not those that had one already).
   */
  async markDueMany(tx: Tx, payments: Array<{ id: string; customerId: string; paidAt: Date | null }>): Promise<string[]> {
    if (payments.length === 0) return [];
    const now = tx.clock.now();
    const due = new Date(now.getTime() + this.settings.graceMs);
    const rows: DeliveryRow[] = await tx.em.execute(
      `insert into deliveries as d (payment_id, status, attempts, next_attempt_at, paid_at, created_at, updated_at)
       select v.id, 'PENDING', 0, ?, coalesce(v.paid_at, ?), ?, ? from jsonb_to_recordset(?::jsonb) as v(id uuid, paid_at timestamptz)
       on conflict (payment_id) do nothing returning d.payment_id, d.status, d.attempts, d.failure_reason, d.next_attempt_at, d.recovered, d.access_revoked_at`,
      [due, now, now, now, JSON.stringify(payments.map((p) => ({ id: p.id, paid_at: p.paidAt })))],
    );
    const customerOf = new Map(payments.map((p) => [p.id, p.customerId]));
    for (const row of rows) this.publishChange(tx, customerOf.get(row.payment_id)!, row, null);
    return rows.map((row) => row.payment_id);
  }

  /**
   * The payment stopped granting access (refunded, cancelled). A delivered payment stays DELIVERED
   * and records the revocation; one not yet delivered owes nothing (an attempt under way records
   * what really happened: see recordOutcomeRow).
   */
  async revokeAccess(tx: Tx, payment: Payment, reason: string): Promise<void> {
    const result = await revokeRow(tx.em, payment.id, reason, tx.clock.now());
    if (result && result.row.status !== result.before) this.publishChange(tx, payment.customer.id, result.row, result.before);
  }

  /**
   * Claims one payment for an attempt now and answers the claim's lease end (which identifies the
   * claim: see holdClaim); null when it is not claimable (done, or claimed elsewhere).
   */
  async claimOne(paymentId: string, via: ClaimVia): Promise<Date | null> {
    const now = this.db.clock.now();
    const claimed = await claimOneRow(this.queue, this.db.fork(), paymentId, now, via === 'dispatch' || via === 'operator');
    return claimed ? this.queue.leaseEnd(now) : null;
  }

  /**
   * Claims up to `limit` due payments (FOR UPDATE SKIP LOCKED: instances sweeping together take
   * different rows). At start-up fresh PENDING rows are taken at once: this process may have
   * died before dispatching them.
   */
  async claimDue(limit: number, via: 'sweep' | 'startup'): Promise<Claim> {
    const now = this.db.clock.now();
    return { ids: await claimDueRows(this.queue, this.db.fork(), limit, via, now), leaseUntil: this.queue.leaseEnd(now) };
  }

  /** The sweep's claim statement, for the sweep bench's EXPLAIN. */
  claimDueSql(via: 'sweep' | 'startup'): Promise<string> {
    return claimDueSql(this.queue, via);
  }

  /**
   * Confirms that a claim is still ours and answers its lease end, renewed when less than half is
   * left; null when it is lost. Called before a bulk-claimed row's turn (rows wait behind the
   * concurrency limit). A lease can only run out and be taken by another worker after it ends, and
   * the lease end we wrote identifies our claim: so a confirmed claim is held for at least half a
   * lease, longer than one Telegram call (config checks DELIVERY_LEASE_MS > 2 × TELEGRAM_TIMEOUT_MS),
   * and no payment is ever messaged by two workers.
   */
  async holdClaim(paymentId: string, leaseUntil: Date): Promise<Date | null> {
    return this.queue.hold(this.db.fork(), paymentId, leaseUntil, this.db.clock.now(), { where: `status = 'IN_PROGRESS'` });
  }

  /**
   * holdClaim just before the message goes out (creating a link per channel against a slow Telegram
   * can outlast a lease), always asking the row: a refund committed meanwhile stops the send.
   */
  private async holdToSend(paymentId: string, leaseUntil: Date): Promise<{ lease: Date; revoked: boolean } | null> {
    const now = this.db.clock.now();
    const renew = leaseUntil.getTime() - now.getTime() <= this.settings.leaseMs / 2;
    const lease = renew ? this.queue.leaseEnd(now) : leaseUntil;
    const held = await confirmClaim(this.db.fork(), paymentId, leaseUntil, renew ? lease : null, now);
    return held ? { lease, revoked: held.revoked } : null;
  }

  /**
   * An operator's retry: a fresh budget, due now. The caller has locked the row, checked that the
   * payment is paid and not delivered, and writes the audit entry in the same transaction.
   */
  reopen(tx: Tx, customerId: string, delivery: Delivery): void {
    const from = delivery.status;
    delivery.status = DeliveryStatus.PENDING;
    delivery.attempts = 0;
    delivery.nextAttemptAt = tx.clock.now();
    this.publishChange(tx, customerId, { status: delivery.status, attempts: 0, failure_reason: delivery.failureReason, recovered: delivery.recovered, payment_id: delivery.paymentId }, from);
  }

  /**
   * The customer can be reached now (they bound Telegram or started the bot): their deliveries
   * waiting on them are due at once. Attempts are kept, so the retry budget still bounds them.
   * Returns the payment ids; the caller dispatches them after commit.
   */
  async wakeAwaitingCustomer(tx: Tx, customerId: string): Promise<string[]> {
    const woken = await wakeRows(tx.em, customerId, tx.clock.now());
    for (const row of woken) this.publishChange(tx, customerId, row, DeliveryStatus.AWAITING_CUSTOMER);
    return woken.map((row) => row.payment_id);
  }

  /**
   * When the earliest owed delivery of a payment paid before `paidBefore` falls due (its retry
   * time, or the end of its claim's lease); null when none is owed. Served by deliveries_due.
   */
  async nextDueOwed(paidBefore: Date): Promise<Date | null> {
    return nextDueAt(this.db.fork(), paidBefore);
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
  attempt(paymentId: string, via: ClaimVia, leaseUntil: Date): Promise<DeliveryOutcome> {
    // Dispatched after the paying event's commit, this is a child of its inbox.apply span; from a sweep, a trace of its own.
    return inSpan('delivery.attempt', { [PAYMENT_ID]: paymentId, 'recoup.via': via }, async (span) => {
      const outcome = await this.attemptNow(paymentId, via, leaseUntil);
      span.setAttribute('recoup.delivery_status', outcome.status);
      return outcome;
    });
  }

  private async attemptNow(paymentId: string, via: ClaimVia, leaseUntil: Date): Promise<DeliveryOutcome> {
    // One read for the payment, its delivery, customer, plan, channels and stored links.
    const read = await readAttempt(this.db.fork(), paymentId);
    if (!read) throw new Error(`payment ${paymentId} not found`);
    const ctx: AttemptContext = { paymentId, customerId: read.customerId, attempts: read.attempts, via, lease: leaseUntil };
    const log = this.logger.child({ paymentId, via, attempt: ctx.attempts + 1 });
    // A refund came while the row waited (or its last worker died): nothing is owed now.
    if (read.accessRevokedAt) return this.record(ctx, { kind: 'revoked' });
    try {
      const links = await this.links.ensureLinksFor(paymentId, read.channels, read.links);
      if (!read.telegramUserId) return await this.record(ctx, { kind: 'awaiting', reason: 'customer has no Telegram account linked yet' });
      const text = formatDeliveryMessage({
        planName: read.planName,
        durationDays: read.durationDays,
        periodEnd: new Date(read.paidAt.getTime() + read.durationDays * 86_400_000),
        links: links.map(({ url, expiresAt, channel }) => ({ channelTitle: channel.title, url, expiresAt })),
      });
      // The last moment to find that our claim ran out while the links were made, or that the
      // payment was refunded meanwhile: once sent, sent.
      const held = await this.holdToSend(paymentId, ctx.lease);
      if (!held) {
        log.warn('claim lost before sending: another worker owns this delivery now');
        return await this.currentOutcome(paymentId);
      }
      ctx.lease = held.lease;
      if (held.revoked) return await this.record(ctx, { kind: 'revoked' });
      // Delivered when handed to Telegram: a refund landing while the answer is awaited comes after it.
      const sentAt = this.db.clock.now();
      await this.telegram.sendMessage(read.telegramUserId, text);
      log.info({ channels: links.length }, 'delivered');
      return await this.record(ctx, { kind: 'delivered', at: sentAt });
    } catch (error) {
      const outcome = this.classify(error);
      log.warn({ err: (error as Error).message, outcome: outcome.kind }, 'delivery attempt failed');
      return this.record(ctx, outcome);
    }
  }

  /** The payment's delivery as it stands, for an attempt that was not ours to record. */
  private async currentOutcome(paymentId: string): Promise<DeliveryOutcome> {
    const row = await readRow(this.db.fork(), paymentId);
    return { paymentId, status: row!.status, attempts: row!.attempts, reason: row!.failure_reason, retryAt: null };
  }

  private classify(error: unknown): FailureKind {
    if (error instanceof TelegramError) {
      if (error.failure === 'CANT_INITIATE') return { kind: 'awaiting', reason: 'the customer has not started a chat with the bot' };
      if (error.retryable) return { kind: 'retry', reason: error.message, retryAfterMs: error.retryAfterMs };
      return { kind: 'permanent', reason: error.message };
    }
    return { kind: 'retry', reason: `unexpected: ${(error as Error).message ?? String(error)}`, retryAfterMs: null };
  }

  /** What the attempt's result writes; `attempts` counts this attempt. */
  private outcomeWrite(ctx: AttemptContext, result: Result, now: Date): OutcomeWrite {
    const attempts = ctx.attempts + 1;
    const base = { nextAttemptAt: null, deliveredAt: null, recovered: false };
    switch (result.kind) {
      case 'delivered':
        // Recovered: an earlier attempt failed, or the sweep found what the immediate path missed.
        return { ...base, status: DeliveryStatus.DELIVERED, reason: null, deliveredAt: result.at, recovered: attempts > 1 || ctx.via !== 'dispatch' };
      case 'awaiting':
        return { ...base, status: DeliveryStatus.AWAITING_CUSTOMER, reason: result.reason };
      case 'revoked':
        // recordOutcomeRow writes the revocation's reason.
        return { ...base, status: DeliveryStatus.FAILED, reason: null };
      case 'retry':
        if (attempts < this.settings.maxAttempts) {
          return { ...base, status: DeliveryStatus.PENDING, reason: result.reason, nextAttemptAt: this.queue.retryAt(attempts, now, result.retryAfterMs ?? 0) };
        }
        return { ...base, status: DeliveryStatus.FAILED, reason: `${result.reason} (gave up after ${attempts} attempts)` };
      case 'permanent':
        return { ...base, status: DeliveryStatus.FAILED, reason: result.reason };
    }
  }

  /**
   * One statement while our claim holds. Our lease ran out and another worker claimed the row (its
   * lease end is not ours) or finished it: what it records stands, and ours is not written.
   * A failure also raises its alert, in the same transaction. A delivery first waits for the
   * payment's row lock (FOR SHARE, in the order every payment writer takes them: payment, then
   * delivery): an event still being applied to the payment finishes first, so what listens for
   * DELIVERED (the capture kick, which skips locked rows) finds the payment free.
   */
  private async record(ctx: AttemptContext, result: Result): Promise<DeliveryOutcome> {
    const now = this.db.clock.now();
    const write = this.outcomeWrite(ctx, result, now);
    const alert = write.status === DeliveryStatus.FAILED && result.kind !== 'revoked';
    // Delivered after a retry, the sweep or an operator's recovery: a DELIVERY_FAILED alert an
    // earlier attempt raised is settled, and resolved in the same transaction.
    const settles = write.status === DeliveryStatus.DELIVERED && write.recovered;
    if (!alert && !settles) {
      // One statement; a delivery first waits for the payment's row lock within it.
      const row = await recordOutcomeRow(this.db.fork(), ctx.paymentId, ctx.lease, now, write, { lockPayment: write.status === DeliveryStatus.DELIVERED });
      if (!row) return this.currentOutcome(ctx.paymentId);
      this.publishChange(null, ctx.customerId, row, DeliveryStatus.IN_PROGRESS);
      return this.outcomeOf(row);
    }
    return this.db.transaction(async (tx) => {
      const row = await recordOutcomeRow(tx.em, ctx.paymentId, ctx.lease, now, write, { lockPayment: settles });
      if (!row) return this.currentOutcome(ctx.paymentId);
      if (alert && !row.access_revoked_at) await this.raiseFailed(tx, ctx, row.failure_reason ?? '');
      if (settles && row.status === DeliveryStatus.DELIVERED) {
        const note = `delivered on attempt ${row.attempts} (${ctx.via === 'operator' ? 'recovered by an operator' : `via ${ctx.via}`})`;
        await this.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.DELIVERY_FAILED, 'payment', ctx.paymentId), note, 'delivery');
      }
      this.publishChange(tx, ctx.customerId, row, DeliveryStatus.IN_PROGRESS);
      return this.outcomeOf(row);
    });
  }

  private outcomeOf(row: DeliveryRow): DeliveryOutcome {
    return { paymentId: row.payment_id, status: row.status, attempts: row.attempts, reason: row.failure_reason, retryAt: row.next_attempt_at ? new Date(row.next_attempt_at) : null };
  }

  private async raiseFailed(tx: Tx, ctx: AttemptContext, reason: string): Promise<void> {
    await this.alerts.raise(tx, {
      type: AlertType.DELIVERY_FAILED,
      severity: AlertSeverity.HIGH,
      title: 'Invite links could not be delivered',
      detail: `Payment ${ctx.paymentId} (customer ${ctx.customerId}): ${reason}. Fix the cause, then run recoverPayment.`,
      subjectType: 'payment',
      subjectId: ctx.paymentId,
    });
  }

  /** After commit: to subscribers and to this process's listeners. Without a transaction, now (the statement committed). */
  publishChange(tx: Tx | null, customerId: string, row: Pick<DeliveryRow, 'payment_id' | 'status' | 'attempts' | 'failure_reason' | 'recovered'>, from: DeliveryStatus | null): void {
    const event: DeliveryStatusChangedPayload = {
      paymentId: row.payment_id,
      customerId,
      from,
      to: row.status,
      attempts: row.attempts,
      reason: row.failure_reason,
      recovered: row.recovered,
      at: (tx?.clock ?? this.db.clock).now(),
    };
    if (!tx) {
      try {
        this.publisher.publish(Topic.DELIVERY_STATUS_CHANGED, event);
        for (const listener of this.changeListeners) listener(event);
      } catch (error) {
        // As after a commit: the row is the truth, and what a listener missed a sweep repairs.
        this.logger.error({ err: error, paymentId: row.payment_id }, 'delivery change listener failed');
      }
      return;
    }
    tx.publish(Topic.DELIVERY_STATUS_CHANGED, event);
    for (const listener of this.changeListeners) tx.afterCommit(() => listener(event));
  }
}

interface AttemptContext {
  paymentId: string;
  customerId: string;
  /** Attempts recorded before this one (read under our claim: nobody else records meanwhile). */
  attempts: number;
  via: ClaimVia;
  lease: Date;
}

type Result = FailureKind | { kind: 'delivered'; at: Date } | { kind: 'revoked' };

type FailureKind =
  | { kind: 'awaiting'; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs: number | null }
  | { kind: 'permanent'; reason: string };
