import { LockMode } from '@mikro-orm/core';
import type { Database, Tx } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { retryDelayMs } from '../platform/shared/backoff';
import { safeErrorMessage } from '../platform/observability/safe-error';
import { GatewayEvent } from './gateway-event.entity';
import { describePath, sanitiseJson, wellFormed, type SanitisedPath } from './payload-sanitiser';

export interface IncomingEvent {
  gateway: string;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
}

/** Applies one stored event inside the intake transaction and says what it did. */
export type EventApplier = (tx: Tx, event: GatewayEvent) => Promise<string>;

/**
 * `unapplied`: stored, but a field an applier relies on could not be stored as sent (see
 * payload-sanitiser.ts), so it was not applied and will not be retried; the failure is recorded
 * and alerted on. A redelivery holds the same bytes, so the caller acknowledges it all the same.
 */
export type IntakeResult = { status: 'processed' | 'duplicate' | 'unapplied'; outcome: string | null };

/** An incoming event made storable, with what had to change. */
interface StorableEvent extends IncomingEvent {
  sanitizedPaths: SanitisedPath[];
}

export interface IntakeHooks {
  onOutcome?(gateway: string, outcome: 'processed' | 'duplicate' | 'failed'): void;
  /** Called in the failure's transaction when an event has used up its attempts. */
  onGaveUp?(tx: Tx, event: GatewayEvent): Promise<void>;
  /** Called in the applying transaction when an event that had failed before is finally applied. */
  onRecovered?(tx: Tx, event: GatewayEvent): Promise<void>;
}

/**
 * The event row and its effect commit together, and the caller answers 2xx only
 * after that. A failure rolls the effect back, records the error on the event row in a separate
 * transaction (so the retry job can find it) and rethrows so the route answers 5xx.
 *
 * What arrived is always stored: strings jsonb cannot hold (U+0000, lone surrogates) are stored as
 * U+FFFD and the changed paths recorded on the row. Changed free text is applied as usual; a changed
 * id, type, status, currency, metadata value or key is not applied, and fails the event for good.
 */
export class WebhookIntake {
  private readonly appliers = new Map<string, EventApplier>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly maxAttempts: number,
    private readonly hooks: IntakeHooks = {},
  ) {}

  register(gateway: string, applier: EventApplier): void {
    this.appliers.set(gateway, applier);
  }

  async receive(received: IncomingEvent): Promise<IntakeResult> {
    const incoming = storable(received);
    const reliedOn = incoming.sanitizedPaths.filter((p) => p.reliedOn);
    if (incoming.sanitizedPaths.length > 0) {
      this.logger.warn(
        { gateway: incoming.gateway, eventId: incoming.eventId, type: incoming.type, sanitizedPaths: incoming.sanitizedPaths.map(describePath), applied: reliedOn.length === 0 },
        'gateway event held characters jsonb cannot store; stored with U+FFFD in their place',
      );
    }
    try {
      const result: IntakeResult = await this.db.transaction(async (tx) => {
        const event = await this.storeAndLock(tx, incoming);
        if (event.processedAt) return { status: 'duplicate', outcome: event.outcome };
        if (reliedOn.length > 0) return { status: 'unapplied', outcome: await this.refuse(tx, event, reliedOn) };
        return { status: 'processed', outcome: await this.apply(tx, event) };
      });
      this.hooks.onOutcome?.(incoming.gateway, result.status === 'unapplied' ? 'failed' : result.status);
      return result;
    } catch (error) {
      this.hooks.onOutcome?.(incoming.gateway, 'failed');
      await this.recordFailure(incoming, error);
      throw error;
    }
  }

  /**
   * An event whose ids, types, statuses or metadata did not survive storage: applying it would act
   * on a guessed value. It fails at once, visibly (lastError, the gave-up alert) and for good: every
   * redelivery and retry would hold the same bytes. A redelivery of it changes nothing more.
   */
  private async refuse(tx: Tx, event: GatewayEvent, reliedOn: SanitisedPath[]): Promise<string> {
    if (event.attempts > 0 && event.nextAttemptAt === null && event.lastError) return event.lastError;
    const fields = reliedOn.map(describePath).join(', ');
    event.attempts += 1;
    event.lastError = `not applied: ${fields} could not be stored as sent (a NUL character or a lone UTF-16 surrogate, stored as U+FFFD); Recoup will not act on a guessed value, and will not retry. Check the event at the gateway.`.slice(0, 1000);
    event.nextAttemptAt = null;
    await this.hooks.onGaveUp?.(tx, event);
    return event.lastError;
  }

  /** Re-applies failed events whose next attempt is due. Bounded; safe on several instances. */
  async retryDue(limit: number): Promise<{ retried: number; succeeded: number; failed: number }> {
    const now = this.db.clock.now();
    const due: Array<{ id: string }> = await this.db
      .fork()
      .execute(
        `select id from gateway_events where processed_at is null and next_attempt_at <= ? order by next_attempt_at limit ?`,
        [now, limit],
      );
    let succeeded = 0;
    let failed = 0;
    for (const { id } of due) {
      try {
        const done = await this.db.transaction(async (tx) => {
          const rows: Array<{ id: string }> = await tx.em.execute(
            `select id from gateway_events where id = ? and processed_at is null for update skip locked`,
            [id],
          );
          if (rows.length === 0) return false;
          const event = await tx.em.findOneOrFail(GatewayEvent, id);
          await this.apply(tx, event);
          return true;
        });
        if (done) succeeded++;
      } catch (error) {
        failed++;
        const event = await this.db.fork().findOne(GatewayEvent, id);
        if (event) await this.recordFailure(event, error);
      }
    }
    return { retried: due.length, succeeded, failed };
  }

  private async apply(tx: Tx, event: GatewayEvent): Promise<string> {
    const applier = this.appliers.get(event.gateway);
    const outcome = applier ? await applier(tx, event) : 'ignored: no handler for this gateway';
    const hadFailed = event.lastError !== null;
    event.processedAt = tx.clock.now();
    event.outcome = outcome.slice(0, 500);
    event.attempts += 1;
    event.lastError = null;
    event.nextAttemptAt = null;
    if (hadFailed) await this.hooks.onRecovered?.(tx, event);
    return outcome;
  }

  /**
   * The event's row, locked for this transaction: inserted if new, else the stored one. A concurrent
   * delivery of the same event waits on the unique index, then finds the row the other one wrote.
   */
  private async storeAndLock(tx: Tx, incoming: StorableEvent): Promise<GatewayEvent> {
    const now = tx.clock.now();
    const sanitized = incoming.sanitizedPaths.length > 0 ? JSON.stringify(incoming.sanitizedPaths.map(describePath)) : null;
    const inserted: Array<Record<string, unknown>> = await tx.em.execute(
      `insert into gateway_events (id, gateway, event_id, type, payload, sanitized_paths, received_at, attempts, created_at, updated_at)
       values (gen_random_uuid(), ?, ?, ?, ?, ?::jsonb, ?, 0, ?, ?) on conflict (gateway, event_id) do nothing returning *`,
      [incoming.gateway, incoming.eventId, incoming.type, JSON.stringify(incoming.payload), sanitized, now, now, now],
    );
    // A row we just inserted is ours until commit: no need to read it back with a lock.
    if (inserted.length > 0) return tx.em.map(GatewayEvent, inserted[0]);
    return tx.em.findOneOrFail(GatewayEvent, { gateway: incoming.gateway, eventId: incoming.eventId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /**
   * The message stored as lastError (and shown in the gave-up alert) is the safe one: a database
   * error's message carries its statement with the payload inlined, customers' names and emails.
   */
  private async recordFailure(failed: StorableEvent | GatewayEvent, error: unknown): Promise<void> {
    const incoming = failed instanceof GatewayEvent ? storable(failed) : failed;
    const message = safeErrorMessage(error);
    this.logger.warn({ gateway: incoming.gateway, eventId: incoming.eventId, type: incoming.type, err: error }, 'gateway event failed');
    try {
      await this.db.transaction(async (tx) => {
        const event = await this.storeAndLock(tx, incoming);
        if (event.processedAt) return;
        event.attempts += 1;
        event.lastError = message.slice(0, 1000);
        // One that cannot be applied as sent is not retried either (receive() refuses it anyway).
        const unapplicable = incoming.sanitizedPaths.some((p) => p.reliedOn);
        const spent = unapplicable || event.attempts >= this.maxAttempts;
        event.nextAttemptAt = spent ? null : new Date(tx.clock.now().getTime() + retryDelayMs(event.attempts));
        if (spent) await this.hooks.onGaveUp?.(tx, event);
      });
    } catch (recordError) {
      // The gateway will redeliver: the event is not lost even if we cannot write it down now.
      this.logger.error({ err: recordError, eventId: incoming.eventId }, 'could not record gateway event failure');
    }
  }
}

/** The event with every string jsonb (and text) cannot hold replaced, and the paths that changed. */
function storable(incoming: IncomingEvent): StorableEvent {
  const { value, paths } = sanitiseJson(incoming.payload);
  return { gateway: incoming.gateway, eventId: wellFormed(incoming.eventId), type: wellFormed(incoming.type), payload: value, sanitizedPaths: paths };
}
