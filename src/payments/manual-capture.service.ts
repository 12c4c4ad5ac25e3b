import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Config } from '../platform/config';
import { systemActor, type Actor, type Database, type Tx } from '../platform/database/transaction';
import type { GatewayPaymentIntent, PaymentGateway } from '../integrations/stripe/payment-gateway';
import { LeaseQueue } from '../platform/jobs/lease-queue';
import type { BackoffPolicy } from '../platform/shared/backoff';
import type { Logger } from '../platform/observability/logger';
import { Payment } from './payment.entity';
import { PaymentStatus } from './payment-status';
import type { PaymentSync } from './payment-sync.service';
import type { PaymentTransitions } from './payment-transitions.service';

/** Which of these (delivered, authorized) payments have their access fulfilled; null: all of them. */
export type FulfilmentCheck = ((em: EntityManager, paymentIds: readonly string[]) => Promise<Set<string>>) | null;

const job = systemActor('manual-capture');
/** Under CAPTURE_ON=joined a delivered payment waits for the join; look again this much later. */
const WAIT_FOR_JOIN_MS = 10 * 60_000;

/**
 * Manual capture: a MANUAL plan's payment is AUTHORIZED at checkout and captured once its access
 * is fulfilled. The payments_capture_due partial index is the queue (AUTHORIZED, MANUAL,
 * delivered); a claim sets captureNextAttemptAt as a lease, so two instances never capture one
 * payment at once (and the key `capture:<paymentId>` would make a second capture a no-op anyway).
 * The immediate attempt after delivery is only a fast path; the sweep finds everything else.
 * The payment becomes SUCCEEDED only once Stripe answers with a captured intent.
 */
export class ManualCapture {
  private stopped = false;
  private readonly running = new Set<Promise<void>>();
  private readonly queue: LeaseQueue;

  constructor(
    private readonly db: Database,
    private readonly gateway: PaymentGateway,
    private readonly transitions: PaymentTransitions,
    private readonly sync: PaymentSync,
    private readonly alerts: AlertService,
    private readonly settings: Config['capture'],
    private readonly fulfilled: FulfilmentCheck,
    private readonly logger: Logger,
    backoff: BackoffPolicy,
  ) {
    // A payment delivered but never scheduled (capture_next_attempt_at null) is due at once.
    this.queue = new LeaseQueue({
      table: 'payments',
      dueColumn: 'capture_next_attempt_at',
      dueWhenNull: true,
      order: 'capture_next_attempt_at nulls first',
      attemptsColumn: 'capture_attempts',
      maxAttempts: settings.maxAttempts,
      // Delivery has its own table (src/delivery): fulfilled means its delivery row says DELIVERED.
      ready: `status = 'AUTHORIZED' and capture_mode = 'MANUAL' and exists (select 1 from deliveries d where d.payment_id = payments.id and d.status = 'DELIVERED')`,
      leaseMs: settings.leaseMs,
      backoff,
    });
  }

  /** After commit, off the caller's path: try this payment now if it is due. */
  kick(paymentId: string): void {
    if (this.stopped) return;
    const run: Promise<void> = this.claim(paymentId)
      .then(async (ids) => void (await this.attemptAll(ids)))
      .catch((error: unknown) => this.logger.error({ err: error, paymentId }, 'immediate capture failed; the sweep retries it'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /**
   * CAPTURE_ON=joined: the access feature calls this when the customer joined. A payment that was
   * only waiting for the join is due at once (one whose capture failed keeps its backoff).
   */
  async accessFulfilled(paymentId: string): Promise<void> {
    await this.db.fork().execute(`update payments set capture_next_attempt_at = null where id = ? and status = 'AUTHORIZED' and capture_attempts = 0`, [paymentId]);
    this.kick(paymentId);
  }

  /** Resolves once no immediate attempt is running (tests and graceful stop). */
  async whenIdle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.whenIdle();
  }

  /** The periodic sweep: claims a bounded batch of due captures and attempts them. */
  async sweep(limit = 100): Promise<{ claimed: number; captured: number; failed: number }> {
    const ids = await this.claim(null, limit);
    const outcomes = await this.attemptAll(ids);
    return { claimed: ids.length, captured: outcomes.filter((o) => o === 'captured').length, failed: outcomes.filter((o) => o === 'failed').length };
  }

  /**
   * Captures now, from a fresh read of the intent (the caller's read-through). Already captured
   * counts as success. Returns the payment as recorded.
   */
  async captureWith(
    actor: Actor,
    paymentId: string,
    fresh: GatewayPaymentIntent,
    inTx?: (tx: Tx, payment: Payment, from: PaymentStatus, captured: GatewayPaymentIntent) => void | Promise<void>,
  ): Promise<Payment> {
    const intent = fresh.status === 'requires_capture' ? await this.gateway.capturePaymentIntent(fresh.id, `capture:${paymentId}`) : fresh;
    return this.db.transaction(async (tx) => {
      const payment = await this.transitions.lock(tx, paymentId);
      const from = payment.status;
      await this.sync.syncToIntent(tx, actor, payment, intent, intent.status === 'succeeded' ? 'captured at Stripe' : `capture: intent is ${intent.status}`);
      if (payment.status !== PaymentStatus.AUTHORIZED) payment.captureNextAttemptAt = null;
      await inTx?.(tx, payment, from, intent);
      return payment;
    });
  }

  private async claim(paymentId: string | null, limit = 1): Promise<string[]> {
    // A kick waits for the payment's lock: an event being applied to it (a late amount_capturable_updated, say) must not make it skip the capture.
    const rows = await this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit, ...(paymentId ? { ids: [paymentId], waitForLock: true } : {}) });
    return rows.map((row) => row.id);
  }

  private async attemptAll(ids: string[]): Promise<Array<'captured' | 'waiting' | 'failed'>> {
    if (ids.length === 0) return [];
    const ready = this.fulfilled ? await this.fulfilled(this.db.fork(), ids) : new Set(ids);
    const outcomes: Array<'captured' | 'waiting' | 'failed'> = [];
    for (const id of ids) outcomes.push(ready.has(id) ? await this.attempt(id) : await this.wait(id));
    return outcomes;
  }

  private async attempt(paymentId: string): Promise<'captured' | 'failed'> {
    const payment = await this.db.fork().findOneOrFail(Payment, paymentId);
    try {
      if (!payment.stripePaymentIntentId) throw new Error('the payment has no PaymentIntent');
      const fresh = await this.gateway.retrievePaymentIntent(payment.stripePaymentIntentId);
      const after = await this.captureWith(job, paymentId, fresh);
      if (after.status === PaymentStatus.SUCCEEDED) return 'captured';
      throw new Error(`Stripe says the intent is ${fresh.status}; our payment is ${after.status}`);
    } catch (error) {
      await this.recordFailure(paymentId, (error as Error).message ?? String(error));
      return 'failed';
    }
  }

  private async wait(paymentId: string): Promise<'waiting'> {
    const next = new Date(this.db.clock.now().getTime() + WAIT_FOR_JOIN_MS);
    await this.db.fork().execute(`update payments set capture_next_attempt_at = ? where id = ?`, [next, paymentId]);
    return 'waiting';
  }

  private async recordFailure(paymentId: string, message: string): Promise<void> {
    this.logger.warn({ paymentId, err: message }, 'capture attempt failed');
    await this.db.transaction(async (tx) => {
      const payment = await this.transitions.lock(tx, paymentId);
      payment.captureAttempts += 1;
      payment.captureLastError = message.slice(0, 500);
      // No longer AUTHORIZED: Stripe dropped the hold (expired, or released elsewhere); no retry can capture it.
      const hopeless = payment.status !== PaymentStatus.AUTHORIZED;
      if (!hopeless && !this.queue.spent(payment.captureAttempts)) {
        payment.captureNextAttemptAt = this.queue.retryAt(payment.captureAttempts, tx.clock.now());
        return;
      }
      payment.captureNextAttemptAt = null;
      await this.alerts.raise(tx, {
        type: AlertType.CAPTURE_FAILED,
        severity: AlertSeverity.HIGH,
        title: `Capture failed: ${payment.amountMinor} ${payment.currency.toUpperCase()}`,
        detail: hopeless
          ? `Payment ${payment.id} was delivered but Stripe no longer holds the money (${message}); it is now ${payment.status}. Access was given without payment.`
          : `Payment ${payment.id} was delivered but could not be captured after ${payment.captureAttempts} attempts (${message}). Run capturePayment, or releaseAuthorization, before the authorization expires.`,
        subjectType: 'payment',
        subjectId: payment.id,
      });
    });
  }
}
