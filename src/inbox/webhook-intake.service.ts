import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SpanContext } from '@opentelemetry/api';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import type { Logger } from '../platform/observability/logger';
import { safeErrorMessage } from '../platform/observability/safe-error';
import { activeSpanContext, inSpan, markFailed, PAYMENT_ID } from '../platform/observability/spans';
import { LeaseQueue } from '../platform/jobs/lease-queue';
import { isUuid } from '../platform/shared/ids';
import { GatewayEvent } from './gateway-event.entity';
import { InboxError } from './inbox.errors';
import { describePath, type SanitisedPath } from './payload-sanitiser';
import type { BatchApplier, EventApplier, IncomingEvent, IntakeHooks, IntakeResult, IntakeSettings, IntakeStatus } from './intake.types';
import { eventOf, REFUSED, STORE_AND_NOTIFY, STORE_QUIETLY, STORE_REFUSED, storable, type Claimed, type StorableEvent } from './stored-event';

export type { BatchApplier, EventApplier, IncomingEvent, IntakeHooks, IntakeResult, IntakeSettings, IntakeStatus, ReplayReset } from './intake.types';
export { INBOX_CHANNEL } from './stored-event';

/**
 * The inbox. A webhook route verifies the event and calls receive(): one INSERT (no ORM work),
 * committed before the route answers 2xx, so an acknowledged event is never lost; a redelivery
 * hits the unique (gateway, event id) and changes nothing. Applying happens afterwards, from the
 * table: woken in-process right after the insert, by NOTIFY on the other instances, and by the
 * gateway-events sweep job (which also picks up what a crashed worker had claimed once its lease
 * ran out). Each event is applied in its own transaction together with its processedAt, so its
 * effect happens once; a failure is recorded with backoff and after maxAttempts raises the
 * gave-up alert, and one bad event never holds up the others.
 *
 * What arrived is always stored: strings jsonb cannot hold (U+0000, lone surrogates) are stored as
 * U+FFFD and the changed paths recorded on the row. Changed free text is applied as usual; a changed
 * id, type, status, currency, metadata value or key is not applied, and fails the event for good.
 */
export class WebhookIntake {
  private readonly appliers = new Map<string, EventApplier>();
  private readonly batchAppliers = new Map<string, BatchApplier>();
  /**
   * Tracing on: the span context that stored each event not applied yet, so applying it continues
   * the webhook's trace. In memory only: an event applied by the sweep, another instance or after
   * a restart starts a trace of its own. Bounded: cleared when it grows past ORIGINS_MAX.
   */
  private readonly origins = new Map<string, SpanContext>();
  private readonly queue: LeaseQueue<Claimed>;
  private draining: Promise<void> | null = null;
  private wakeAgain = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly settings: IntakeSettings,
    private readonly hooks: IntakeHooks = {},
    /** Sent with NOTIFY, so an instance does not wake itself twice. */
    readonly instanceId: string = randomUUID(),
  ) {
    // The claim counts the attempt: one whose worker died is spent all the same (a poison event gives up).
    this.queue = new LeaseQueue<Claimed>({
      table: 'gateway_events',
      ready: 'processed_at is null',
      countOnClaim: true,
      maxAttempts: settings.maxAttempts,
      leaseMs: settings.leaseMs,
      backoff: settings.backoff,
      returning: 'id, gateway, event_id, type, payload, sanitized_paths, attempts, last_error, received_at',
    });
  }

  register(gateway: string, applier: EventApplier): void {
    this.appliers.set(gateway, applier);
  }

  /** The gateway's hot path for a whole claimed batch (see BatchApplier); register() still applies the rest. */
  registerBatch(gateway: string, applier: BatchApplier): void {
    this.batchAppliers.set(gateway, applier);
  }

  /** Stores the event (committed when this resolves) and wakes the applier. Throws when it could not be stored. */
  async receive(received: IncomingEvent): Promise<IntakeResult> {
    const incoming = storable(received);
    const reliedOn = incoming.sanitizedPaths.filter((p) => p.reliedOn);
    if (incoming.sanitizedPaths.length > 0) {
      this.logger.warn(
        { gateway: incoming.gateway, eventId: incoming.eventId, type: incoming.type, sanitizedPaths: incoming.sanitizedPaths.map(describePath), applied: reliedOn.length === 0 },
        'gateway event held characters jsonb cannot store; stored with U+FFFD in their place',
      );
    }
    const status = reliedOn.length > 0 ? await this.storeRefused(incoming, reliedOn) : await this.store(incoming);
    this.hooks.onOutcome?.(incoming.gateway, incoming.type, status);
    const origin = activeSpanContext();
    if (origin && status !== 'unapplied') {
      if (this.origins.size >= ORIGINS_MAX) this.origins.clear();
      this.origins.set(originKey(incoming.gateway, incoming.eventId), origin);
    }
    // A duplicate wakes it too: its INSERT … ON CONFLICT held the row for a moment, and a claim
    // running just then skipped it (SKIP LOCKED), so the first delivery's wake may have found nothing.
    if (status !== 'unapplied') this.wake();
    return { status, eventId: incoming.eventId };
  }

  /**
   * For the reconciliation's replay of missed events, which must see their effect before its other
   * checks run: stores the event, then applies it here and now. Returns what applying did (null for
   * a duplicate); throws when applying failed (the failure is recorded, the sweep retries it).
   */
  async receiveAndApply(received: IncomingEvent): Promise<{ status: IntakeStatus; outcome: string | null }> {
    const incoming = storable(received);
    if (incoming.sanitizedPaths.some((p) => p.reliedOn)) {
      const { status } = await this.receive(received);
      return { status, outcome: null };
    }
    const status = await this.store(incoming, false);
    this.hooks.onOutcome?.(incoming.gateway, incoming.type, status);
    if (status === 'duplicate') return { status, outcome: null };
    const claimed = await this.claim(1, `gateway = ? and event_id = ?`, [incoming.gateway, incoming.eventId]);
    if (claimed.length === 0) return { status, outcome: 'queued: another worker is applying it' };
    const result = await this.applyClaimed(claimed[0]);
    if (result.error) throw result.error;
    return { status, outcome: result.outcome };
  }

  /**
   * An operator's replay: the stored event applied again now, through the same claim and applier
   * as the sweep. One not applied yet (failed, given up, or waiting) gets its attempt budget back
   * and is due now (audited through onReplay in that transaction), then is claimed and applied
   * here: its effect and processedAt commit together, and a failure is recorded as on any other
   * attempt. One already applied is never applied a second time: it is answered as it is, with
   * nothing changed (events arrive twice and out of order; only the unique (gateway, event id)
   * and processedAt make an effect happen once). Answers the row as it stands afterwards.
   * NOT_FOUND for an unknown id; CONFLICT for an event refused for good when it was stored.
   */
  async replay(actor: Actor, id: string): Promise<GatewayEvent> {
    if (!isUuid(id)) throw InboxError.notFound(id);
    const due = await this.db.transaction(async (tx): Promise<boolean> => {
      const rows: Array<Record<string, unknown>> = await tx.em.execute(`select * from gateway_events where id = ? for update`, [id]);
      if (rows.length === 0) throw InboxError.notFound(id);
      const event = tx.em.map(GatewayEvent, rows[0]);
      if (event.processedAt !== null) return false;
      if (event.lastError?.startsWith(REFUSED)) throw InboxError.refused(id, event.lastError);
      const now = tx.clock.now();
      await tx.em.execute(`update gateway_events set attempts = 0, next_attempt_at = ?, updated_at = ? where id = ?`, [now, now, id]);
      await this.hooks.onReplay?.(tx, actor, {
        event,
        before: { attempts: event.attempts, lastError: event.lastError, nextAttemptAt: event.nextAttemptAt?.toISOString() ?? null, gaveUp: event.nextAttemptAt === null },
        after: { attempts: 0, nextAttemptAt: now.toISOString() },
      });
      return true;
    });
    if (due) {
      // Waits for a row held a moment (a redelivery's INSERT … ON CONFLICT); one a worker applied meanwhile is no longer claimable.
      const claimed = await this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit: 1, ids: [id], waitForLock: true });
      if (claimed.length > 0) await this.applyClaimed(claimed[0]);
    }
    const em = this.db.fork();
    const rows: Array<Record<string, unknown>> = await em.execute(`select * from gateway_events where id = ?`, [id]);
    if (rows.length === 0) throw InboxError.notFound(id);
    return em.map(GatewayEvent, rows[0]);
  }

  /**
   * The sweep: claims due events (new ones nobody applied, failed ones whose backoff has passed,
   * ones whose worker died) and applies them. Bounded; safe on several instances (SKIP LOCKED).
   */
  async retryDue(limit: number): Promise<{ retried: number; succeeded: number; failed: number }> {
    const due = await this.claim(limit);
    const batched = await this.applyBatches(due);
    let succeeded = batched.size;
    let failed = 0;
    for (const row of due) {
      if (batched.has(row.id)) continue;
      const result = await this.applyClaimed(row);
      if (result.error) failed++;
      else if (result.outcome !== null) succeeded++;
    }
    return { retried: due.length, succeeded, failed };
  }

  /** Starts (or extends) a drain of every due event. Safe to call often: drains do not overlap. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.wakeAgain) this.wake();
    });
  }

  /** Resolves once no drain is running (tests, graceful stop). Events waiting for a backoff do not count. */
  async whenIdle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops waking; resolves when the drain in progress has finished its event. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.whenIdle();
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.wakeAgain = false;
        for (;;) {
          if (this.stopped) return;
          const claimed = await this.claim(this.settings.batchSize);
          if (claimed.length === 0) break;
          const batched = await this.applyBatches(claimed);
          for (const row of claimed) {
            if (this.stopped) return; // what is left is claimed: its lease runs out and the sweep takes it
            if (!batched.has(row.id)) await this.applyClaimed(row);
          }
        }
      } while (this.wakeAgain);
    } catch (error) {
      // The database is unreachable, say: the events stay stored and the next wake or sweep takes them.
      this.logger.error({ err: error }, 'inbox drain failed; the sweep will pick the events up');
    }
  }

  private async store(incoming: StorableEvent, notify = true): Promise<IntakeStatus> {
    const rows = await this.insert(this.db.fork(), notify ? STORE_AND_NOTIFY : STORE_QUIETLY, incoming, { attempts: 0, lastError: null, due: true });
    if (rows.length === 0) return 'duplicate';
    return rows[0].inserted ? 'stored' : 'requeued';
  }

  /**
   * An event whose ids, types, statuses or metadata did not survive storage: applying it would act
   * on a guessed value. It is stored failed for good, with the gave-up alert, in one transaction:
   * every redelivery and retry would hold the same bytes. A redelivery of it changes nothing more.
   */
  private async storeRefused(incoming: StorableEvent, reliedOn: SanitisedPath[]): Promise<IntakeStatus> {
    const fields = reliedOn.map(describePath).join(', ');
    const lastError = `${REFUSED} ${fields} could not be stored as sent (a NUL character or a lone UTF-16 surrogate, stored as U+FFFD); Recoup will not act on a guessed value, and will not retry. Check the event at the gateway.`.slice(0, 1000);
    return this.db.transaction(async (tx): Promise<IntakeStatus> => {
      const rows = await this.insert(tx.em, STORE_REFUSED, incoming, { attempts: 1, lastError, due: false });
      // A redelivery holds the same bytes: it is refused again, and the row and its alert stay as they are.
      if (rows.length === 0) return 'unapplied';
      await this.hooks.onGaveUp?.(tx, tx.em.map(GatewayEvent, rows[0]));
      return 'unapplied';
    });
  }

  private insert(em: Pick<EntityManager, 'execute'>, sql: string, incoming: StorableEvent, state: { attempts: number; lastError: string | null; due: boolean }): Promise<Array<Record<string, unknown>>> {
    const now = this.db.clock.now();
    const sanitized = incoming.sanitizedPaths.length > 0 ? JSON.stringify(incoming.sanitizedPaths.map(describePath)) : null;
    const params = [incoming.gateway, incoming.eventId, incoming.type, JSON.stringify(incoming.payload), sanitized, now, state.attempts, state.lastError, state.due ? now : null, now, now];
    return em.execute(sql, sql === STORE_AND_NOTIFY ? [...params, this.instanceId] : params);
  }

  /** Counts the attempt and takes a lease: a worker that dies gives the event back when it runs out. */
  private async claim(limit: number, where?: string, params?: unknown[]): Promise<Claimed[]> {
    const claimed = await this.queue.claim(this.db.fork(), { now: this.db.clock.now(), limit, where, params });
    // RETURNING does not keep the claim's order: applied in the order received.
    return claimed.sort((a, b) => new Date(a.received_at).getTime() - new Date(b.received_at).getTime());
  }

  /**
   * Offers the claimed events to their gateway's BatchApplier, one transaction per gateway, and
   * answers the ids it applied (with their processedAt, in the same transaction). When the batch
   * fails nothing of it is kept and every event is applied one by one, which records each failure
   * on its own event: one bad event never holds up the others.
   */
  private async applyBatches(claimed: Claimed[]): Promise<Set<string>> {
    const done = new Set<string>();
    if (!this.settings.batchApply || this.stopped) return done;
    for (const [gateway, applier] of this.batchAppliers) {
      const rows = claimed.filter((row) => row.gateway === gateway);
      if (rows.length === 0) continue;
      try {
        for (const id of await this.applyBatch(applier, rows)) done.add(id);
      } catch (error) {
        this.logger.warn({ err: error, gateway, events: rows.length }, 'inbox batch failed; applying its events one by one');
      }
    }
    return done;
  }

  private async applyBatch(applier: BatchApplier, rows: Claimed[]): Promise<string[]> {
    const bySubject = new Map<string, Claimed>();
    const applied = await this.db.transaction(
      async (tx) => {
        // As applyClaimedNow: the rows are ours, but one may have been applied meanwhile by a worker whose lease had run out.
        const open: Array<{ id: string }> = await tx.em.execute(`select id from gateway_events where id = any(?::uuid[]) and processed_at is null order by id for update`, [`{${rows.map((r) => r.id).join(',')}}`]);
        const openIds = new Set(open.map((r) => r.id));
        const events = rows.filter((r) => openIds.has(r.id)).map(eventOf);
        const outcomes = events.length > 0 ? await applier(tx, events) : new Map<string, { outcome: string; subject?: string }>();
        const now = tx.clock.now();
        const written = [...outcomes].map(([id, { outcome }]) => ({ id, outcome: outcome.slice(0, 500) }));
        if (written.length > 0) {
          await tx.em.execute(
            `update gateway_events g set processed_at = ?, outcome = v.outcome, last_error = null, next_attempt_at = null, updated_at = ?
               from jsonb_to_recordset(?::jsonb) as v(id uuid, outcome text) where g.id = v.id`,
            [now, now, JSON.stringify(written)],
          );
        }
        for (const event of events) {
          const result = outcomes.get(event.id);
          if (!result) continue;
          const row = rows.find((r) => r.id === event.id)!;
          if (result.subject) bySubject.set(result.subject, row);
          if (event.lastError !== null) await this.hooks.onRecovered?.(tx, Object.assign(event, { processedAt: now, outcome: result.outcome, lastError: null, nextAttemptAt: null }));
        }
        return [...outcomes.keys()];
      },
      // A payment's after-commit work (its delivery) runs in the span of the event that paid it, as on the one-by-one path.
      { aroundAfterCommit: (subject, run) => (subject && bySubject.has(subject) ? this.inApplySpan(bySubject.get(subject)!, subject, run) : run()) },
    );
    for (const id of applied) {
      const row = rows.find((r) => r.id === id)!;
      this.origins.delete(originKey(row.gateway, row.event_id));
      this.hooks.onOutcome?.(row.gateway, row.type, 'processed');
    }
    return applied;
  }

  private inApplySpan(row: Claimed, paymentId: string, run: () => Promise<void>): Promise<void> {
    const attributes = { 'recoup.gateway': row.gateway, 'recoup.event_id': row.event_id, 'recoup.event_type': row.type, 'recoup.attempt': row.attempts, 'recoup.batch': true, [PAYMENT_ID]: paymentId };
    return inSpan('inbox.apply', attributes, run, this.origins.get(originKey(row.gateway, row.event_id)));
  }

  /** Applies one claimed event with its processedAt in one transaction; a failure is recorded, not thrown. */
  private applyClaimed(claimed: Claimed): Promise<{ outcome: string | null; error?: unknown }> {
    const key = originKey(claimed.gateway, claimed.event_id);
    const origin = this.origins.get(key);
    this.origins.delete(key);
    const attributes = { 'recoup.gateway': claimed.gateway, 'recoup.event_id': claimed.event_id, 'recoup.event_type': claimed.type, 'recoup.attempt': claimed.attempts };
    // The applier adds recoup.payment_id once it has found the payment; delivery after commit is a child.
    return inSpan(
      'inbox.apply',
      attributes,
      async (span) => {
        const result = await this.applyClaimedNow(claimed);
        if (result.error) markFailed(span, result.error);
        return result;
      },
      origin,
    );
  }

  private async applyClaimedNow(claimed: Claimed): Promise<{ outcome: string | null; error?: unknown }> {
    try {
      const outcome = await this.db.transaction(async (tx) => {
        // Waits rather than skips: a concurrent redelivery's INSERT … ON CONFLICT holds the row for a moment.
        const rows: Array<{ processed_at: Date | null }> = await tx.em.execute(`select processed_at from gateway_events where id = ? for update`, [claimed.id]);
        if (rows.length === 0 || rows[0].processed_at !== null) return null; // applied meanwhile (by a worker whose lease had run out)
        return this.apply(tx, eventOf(claimed));
      });
      this.hooks.onOutcome?.(claimed.gateway, claimed.type, 'processed');
      return { outcome };
    } catch (error) {
      this.hooks.onOutcome?.(claimed.gateway, claimed.type, 'failed');
      await this.recordFailure(claimed, error);
      return { outcome: null, error };
    }
  }

  private async apply(tx: Tx, event: GatewayEvent): Promise<string> {
    const applier = this.appliers.get(event.gateway);
    const outcome = applier ? await applier(tx, event) : 'ignored: no handler for this gateway';
    const hadFailed = event.lastError !== null;
    Object.assign(event, { processedAt: tx.clock.now(), outcome: outcome.slice(0, 500), lastError: null, nextAttemptAt: null });
    // The row by hand: the event is not an entity the unit of work tracks (diffing its payload costs more than the rest).
    await tx.em.execute(`update gateway_events set processed_at = ?, outcome = ?, last_error = null, next_attempt_at = null, updated_at = ? where id = ?`, [event.processedAt, event.outcome, event.processedAt, event.id]);
    if (hadFailed) await this.hooks.onRecovered?.(tx, event);
    return outcome;
  }

  /**
   * The message stored as lastError (and shown in the gave-up alert) is the safe one: a database
   * error's message carries its statement with the payload inlined, customers' names and emails.
   */
  private async recordFailure(claimed: Claimed, error: unknown): Promise<void> {
    const message = safeErrorMessage(error).slice(0, 1000);
    try {
      await this.db.transaction(async (tx) => {
        const rows: Array<Record<string, unknown>> = await tx.em.execute(`select * from gateway_events where id = ? and processed_at is null for update`, [claimed.id]);
        if (rows.length === 0) return;
        const event = tx.em.map(GatewayEvent, rows[0]);
        this.logger.warn({ gateway: event.gateway, eventId: event.eventId, type: event.type, attempt: event.attempts, err: error }, 'gateway event failed');
        const spent = this.queue.spent(event.attempts);
        event.lastError = message;
        event.nextAttemptAt = spent ? null : this.queue.retryAt(event.attempts, tx.clock.now());
        if (spent) await this.hooks.onGaveUp?.(tx, event);
      });
    } catch (recordError) {
      // The lease runs out and the event is claimed again: it is not lost even if we cannot write this down now.
      this.logger.error({ err: recordError, eventRowId: claimed.id }, 'could not record gateway event failure');
    }
  }
}

const ORIGINS_MAX = 10_000;
const originKey = (gateway: string, eventId: string): string => `${gateway}\u0000${eventId}`;

