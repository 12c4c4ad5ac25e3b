import type { Actor, Tx } from '../platform/database/transaction';
import type { BackoffPolicy } from '../platform/shared/backoff';
import type { GatewayEvent } from './gateway-event.entity';

/** What the inbox (webhook-intake.service.ts) takes in, hands its appliers, and calls back. */
export interface IncomingEvent {
  gateway: string;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
}

/** Applies one stored event inside its applying transaction and says what it did. */
export type EventApplier = (tx: Tx, event: GatewayEvent) => Promise<string>;

/**
 * Applies what it can of a claimed batch in one transaction, keyed by event row id: the outcome,
 * and the subject (a payment id) whose after-commit work belongs to that event. The events it
 * leaves out are applied one by one after it commits, in the order received.
 */
export type BatchApplier = (tx: Tx, events: GatewayEvent[]) => Promise<Map<string, { outcome: string; subject?: string }>>;

/**
 * What storing an event did. `stored`: new, queued to be applied. `duplicate`: we had it already.
 * `requeued`: we had it but had not applied it yet (it failed and waits for a retry, or we gave up
 * on it); the redelivery makes it due now.
 * `unapplied`: stored, but a field an applier relies on could not be stored as sent (see
 * payload-sanitiser.ts), so it will never be applied; the failure is recorded and alerted on.
 */
export type IntakeStatus = 'stored' | 'duplicate' | 'requeued' | 'unapplied';
export interface IntakeResult {
  status: IntakeStatus;
  eventId: string;
}

export interface IntakeHooks {
  /** Each event's outcome, on receipt and once applied (or failed); `type` is the event's own, unbounded (the hook bounds it). */
  onOutcome?(gateway: string, type: string, outcome: IntakeStatus | 'processed' | 'failed'): void;
  /** Called in the failure's transaction when an event has used up its attempts. */
  onGaveUp?(tx: Tx, event: GatewayEvent): Promise<void>;
  /** Called in the applying transaction when an event that had failed before is finally applied. */
  onRecovered?(tx: Tx, event: GatewayEvent): Promise<void>;
  /** Called in the transaction where an operator's replay gave an event its attempts back (the audit entry). */
  onReplay?(tx: Tx, actor: Actor, replay: ReplayReset): Promise<void> | void;
}

/** What an operator's replay changed on an event before applying it again. */
export interface ReplayReset {
  event: GatewayEvent;
  before: { attempts: number; lastError: string | null; nextAttemptAt: string | null; gaveUp: boolean };
  after: { attempts: number; nextAttemptAt: string };
}

export interface IntakeSettings {
  maxAttempts: number;
  /** How long a claimed event is ours before another worker may take it (a crashed worker's lease runs out). */
  leaseMs: number;
  /** Events claimed per round trip. */
  batchSize: number;
  /** Between failed attempts (INBOX_BACKOFF_*, QUEUE_JITTER_PERCENT). */
  backoff: BackoffPolicy;
  /** Offer each claimed batch to its gateway's BatchApplier first (INBOX_BATCH_APPLY). */
  batchApply?: boolean;
}
