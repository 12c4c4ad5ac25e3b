import type { Config } from '../platform/config';
import type { Database, Tx } from '../platform/database/transaction';
import { LeaseQueue } from '../platform/jobs/lease-queue';
import type { BackoffPolicy } from '../platform/shared/backoff';
import type { Logger } from '../platform/observability/logger';
import { Alert } from './alert.entity';
import { AlertSeverity } from './alert.types';

const NOTIFIED: readonly AlertSeverity[] = [AlertSeverity.HIGH, AlertSeverity.CRITICAL];
const ICON: Partial<Record<AlertSeverity, string>> = { CRITICAL: ':rotating_light:', HIGH: ':warning:' };

/** Slack's incoming-webhook shape (`text`, plus blocks); Mattermost and Teams connectors accept `text`. */
export function slackMessage(alert: Pick<Alert, 'id' | 'severity' | 'type' | 'title' | 'detail' | 'subjectType' | 'subjectId'>): Record<string, unknown> {
  const subject = alert.subjectType ? ` (${alert.subjectType} ${alert.subjectId ?? ''})` : '';
  const text = `${ICON[alert.severity] ?? ''} [${alert.severity}] ${alert.title}${subject}`.trim();
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${text}*\n${alert.detail}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Recoup alert ${alert.id} · ${alert.type}` }] },
    ],
  };
}

export type AlertPoster = (url: string, body: unknown, timeoutMs: number) => Promise<void>;

const postJson: AlertPoster = async (url, body, timeoutMs) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
};

/**
 * Posts HIGH and CRITICAL alerts to ALERT_WEBHOOK_URL. The alert row is the queue: the raising
 * transaction marks it PENDING, and only after commit is the post attempted, off the caller's
 * path, so a slow or failing receiver never holds a transaction. A failure is retried with
 * backoff up to a bounded number of attempts; a timer is the fast path and the notify sweep
 * (claiming with a lease, FOR UPDATE SKIP LOCKED) picks up whatever a crash or restart left.
 * Delivery is at least once: a receiver may, rarely, see one alert twice.
 */
export class AlertNotifier {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly queue: LeaseQueue;

  constructor(
    private readonly db: Database,
    private readonly settings: Config['alertWebhook'],
    backoff: BackoffPolicy,
    private readonly logger: Logger,
    private readonly post: AlertPoster = postJson,
  ) {
    this.queue = new LeaseQueue({
      table: 'alerts',
      dueColumn: 'notify_next_at',
      attemptsColumn: 'notify_attempts',
      maxAttempts: settings.maxAttempts,
      ready: `notify_status = 'PENDING'`,
      updatedAtColumn: null,
      // Outlasts one post (its timeout) with room to record it: a live sender is never raced.
      leaseMs: 2 * settings.timeoutMs + 5_000,
      backoff,
    });
  }

  get enabled(): boolean {
    return Boolean(this.settings.url);
  }

  /** In the raising transaction (AlertService.onRaised). */
  enqueue(tx: Tx, alert: Alert): void {
    if (!this.enabled || !NOTIFIED.includes(alert.severity)) return;
    alert.notifyStatus = 'PENDING';
    alert.notifyNextAt = tx.clock.now();
    tx.afterCommit(() => this.start(alert.id));
  }

  /** Claims due notifications (bounded) and sends them; for the periodic job. */
  async sweep(limit = 100): Promise<{ claimed: number }> {
    if (!this.enabled) return { claimed: 0 };
    const rows = await this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit });
    await Promise.all(rows.map((row) => this.send(row.id)));
    return { claimed: rows.length };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private start(alertId: string): void {
    if (this.stopped) return;
    const run = this.claimOne(alertId)
      .then((claimed) => (claimed ? this.send(alertId) : undefined))
      .catch((error: unknown) => this.logger.error({ err: error, alertId }, 'alert notification failed; the sweep retries it'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async claimOne(alertId: string): Promise<boolean> {
    const rows = await this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit: 1, ids: [alertId] });
    return rows.length > 0;
  }

  private async send(alertId: string): Promise<void> {
    const alert = await this.db.fork().findOne(Alert, alertId);
    if (!alert) return;
    let failure: string | null = null;
    try {
      await this.post(this.settings.url!, slackMessage(alert), this.settings.timeoutMs);
    } catch (error) {
      failure = (error as Error).message ?? String(error);
    }
    const retryInMs = await this.record(alertId, failure);
    if (retryInMs !== null) this.later(alertId, retryInMs);
  }

  /** Writes the attempt's outcome; answers the delay before the next attempt, or null when done. */
  private async record(alertId: string, failure: string | null): Promise<number | null> {
    return this.db.transaction(async (tx) => {
      const alert = await tx.em.findOneOrFail(Alert, alertId);
      alert.notifyAttempts += 1;
      alert.notifyError = failure?.slice(0, 500) ?? null;
      if (!failure || this.queue.spent(alert.notifyAttempts)) {
        alert.notifyStatus = failure ? 'FAILED' : 'SENT';
        alert.notifyNextAt = null;
        if (failure) this.logger.error({ alertId, attempts: alert.notifyAttempts, err: failure }, 'gave up notifying an alert');
        return null;
      }
      const now = tx.clock.now();
      alert.notifyNextAt = this.queue.retryAt(alert.notifyAttempts, now);
      const delay = alert.notifyNextAt.getTime() - now.getTime();
      this.logger.warn({ alertId, attempt: alert.notifyAttempts, err: failure, retryInMs: delay }, 'alert notification failed; retrying');
      return delay;
    });
  }

  private later(alertId: string, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.start(alertId);
    }, delayMs + 25);
    timer.unref();
    this.timers.add(timer);
  }
}
