import type { Logger } from '../platform/observability/logger';
import type { ClaimVia, DeliveryOutcome, DeliveryService } from './delivery.service';

const RETRY_MARGIN_MS = 25;

/**
 * Runs delivery attempts in this process: right after a payment commits, and again when a
 * retry falls due. Bounded concurrency; timers are only a fast path — the row says what is owed,
 * and the recovery sweep finds whatever a lost timer or a crash left behind.
 */
export class DeliveryDispatcher {
  private running = 0;
  private readonly queue: Array<{ paymentId: string; via: ClaimVia }> = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly delivery: DeliveryService,
    private readonly concurrency: number,
    private readonly logger: Logger,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => undefined,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  dispatch(paymentId: string, via: ClaimVia = 'dispatch'): void {
    if (this.stopped) return;
    this.queue.push({ paymentId, via });
    this.pump();
  }

  /**
   * Attempts already-claimed payments (the sweep claims in bulk) and resolves when all are done.
   * Each row's claim is confirmed before its turn: see holdClaim.
   */
  async runClaimed(paymentIds: string[], via: ClaimVia, leaseUntil: Date): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    let next = 0;
    const worker = async () => {
      while (next < paymentIds.length) {
        const paymentId = paymentIds[next++];
        const held = await this.delivery.holdClaim(paymentId, leaseUntil);
        if (!held) continue;
        const outcome = await this.delivery.attempt(paymentId, via, held);
        outcomes.push(outcome);
        this.afterAttempt(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, paymentIds.length) }, worker));
    return outcomes;
  }

  /** Resolves once nothing is queued or running (tests and graceful stop). */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.whenIdle();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const { paymentId, via } = this.queue.shift()!;
      this.running++;
      void this.runOne(paymentId, via).finally(() => {
        this.running--;
        this.pump();
        if (this.running === 0 && this.queue.length === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
      });
    }
  }

  private async runOne(paymentId: string, via: ClaimVia): Promise<void> {
    try {
      const leaseUntil = await this.delivery.claimOne(paymentId, via);
      if (!leaseUntil) return;
      this.afterAttempt(await this.delivery.attempt(paymentId, via, leaseUntil));
    } catch (error) {
      // A database hiccup: the row is still owed and the sweep will find it.
      this.logger.error({ err: error, paymentId }, 'delivery dispatch failed');
    }
  }

  private afterAttempt(outcome: DeliveryOutcome): void {
    this.onOutcome(outcome);
    if (!outcome.retryAt || this.stopped) return;
    // A timer may fire a millisecond or two before the wall clock reaches retryAt (libuv measures
    // from its cached loop time); the claim would then find the row not yet due and the retry would
    // wait for the next sweep. A small margin keeps the fast path.
    const delay = Math.max(0, outcome.retryAt.getTime() - Date.now()) + RETRY_MARGIN_MS;
    clearTimeout(this.timers.get(outcome.paymentId));
    const timer = setTimeout(() => {
      this.timers.delete(outcome.paymentId);
      this.dispatch(outcome.paymentId, 'dispatch');
    }, delay);
    timer.unref();
    this.timers.set(outcome.paymentId, timer);
  }
}
