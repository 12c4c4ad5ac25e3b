import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import { recordAudit } from '../audit/audit.service';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Topic } from '../platform/shared/topics';
import { Alert } from './alert.entity';
import { AlertSeverity, AlertType, SEVERITY_RANK } from './alert.types';

export interface RaiseAlert {
  type: AlertType;
  severity: AlertSeverity;
  title: string;
  detail: string;
  subjectType?: string;
  subjectId?: string;
  /** Same fingerprint while open → one alert with a counter. Defaults to type:subjectType:subjectId. */
  fingerprint?: string;
}

/** The default dedupe key: the same condition about the same subject is one alert while it is open. */
export const subjectFingerprint = (type: AlertType, subjectType?: string | null, subjectId?: string | null): string => [type, subjectType ?? '', subjectId ?? ''].join(':');

export const fingerprintOf = (input: RaiseAlert): string => input.fingerprint ?? subjectFingerprint(input.type, input.subjectType, input.subjectId);

/** Postgres NOTIFY payloads are capped at 8000 bytes; an alert's detail never needs more than this. */
const MAX_DETAIL = 2000;
/** A resolution event carries detail and note, so each gets half as much room in it. */
const MAX_RESOLVED_EVENT_TEXT = 1000;

/** Called in the raising transaction when an alert is new (not a repeat of an open one). */
export type AlertRaisedListener = (tx: Tx, alert: Alert) => void | Promise<void>;

const actorOfSystem = (component: string): Actor => ({ id: `system:${component}` });

export class AlertService {
  private readonly raisedListeners: AlertRaisedListener[] = [];

  constructor(private readonly db: Database) {}

  onRaised(listener: AlertRaisedListener): void {
    this.raisedListeners.push(listener);
  }

  /**
   * Raises or bumps an alert inside the caller's transaction. A new alert is published to
   * `alertRaised` after commit; a repeat only counts.
   */
  async raise(tx: Tx, input: RaiseAlert): Promise<{ alert: Alert; created: boolean }> {
    const now = tx.clock.now();
    const fingerprint = fingerprintOf(input);
    const rows: Array<{ id: string; inserted: boolean }> = await tx.em.execute(
      `insert into alerts (id, type, severity, title, detail, subject_type, subject_id, fingerprint,
                           occurrences, first_seen_at, last_seen_at, created_at, updated_at)
       values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
       on conflict (fingerprint) where resolved_at is null
       do update set occurrences = alerts.occurrences + 1, last_seen_at = excluded.last_seen_at,
                     updated_at = excluded.updated_at
       returning id, (xmax = 0) as inserted`,
      [input.type, input.severity, input.title, input.detail.slice(0, MAX_DETAIL), input.subjectType ?? null,
        input.subjectId ?? null, fingerprint, now, now, now, now],
    );
    const alert = await tx.em.findOneOrFail(Alert, rows[0].id, { refresh: true });
    if (rows[0].inserted) {
      tx.publish(Topic.ALERT_RAISED, toAlertPayload(alert));
      for (const listener of this.raisedListeners) await listener(tx, alert);
    }
    return { alert, created: rows[0].inserted };
  }

  /** Raises an alert in a transaction of its own (for callers outside one). */
  async raiseNow(input: RaiseAlert): Promise<{ alert: Alert; created: boolean }> {
    return this.db.transaction((tx) => this.raise(tx, input));
  }

  /** Resolving twice is not an error: the first resolution stands and is returned. */
  async resolve(actor: Actor, alertId: string, note: string | null): Promise<Alert> {
    if (!isUuid(alertId)) throw AppError.notFound('Alert', alertId);
    return this.db.transaction(async (tx) => {
      const alert = await tx.em.findOne(Alert, alertId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!alert) throw AppError.notFound('Alert', alertId);
      if (alert.resolvedAt) return alert;
      return this.markResolved(tx, alert, actor, note);
    });
  }

  /**
   * Resolves the open alert with this fingerprint, if any, in the caller's transaction: for a
   * condition that a later check found gone (the nightly reconciliation's auto-resolve).
   */
  async resolveByFingerprint(tx: Tx, fingerprint: string, note: string, component: string): Promise<Alert | null> {
    const alert = await tx.em.findOne(Alert, { fingerprint, resolvedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!alert) return null;
    return this.markResolved(tx, alert, actorOfSystem(component), note);
  }

  private markResolved(tx: Tx, alert: Alert, actor: Actor, note: string | null): Alert {
    alert.resolvedAt = tx.clock.now();
    alert.resolvedBy = actor.id;
    alert.resolutionNote = note;
    recordAudit(tx, actor, {
      action: 'alert.resolve',
      subjectType: 'alert',
      subjectId: alert.id,
      before: { resolvedAt: null },
      after: { resolvedAt: alert.resolvedAt.toISOString(), resolvedBy: actor.id },
      note,
    });
    tx.publish(Topic.ALERT_RESOLVED, toResolvedAlertPayload(alert));
    return alert;
  }

  /** Open alerts of these types (fingerprint and subject only): the set a check may auto-resolve. */
  async openOfTypes(em: EntityManager, types: readonly AlertType[]): Promise<Array<{ fingerprint: string; type: AlertType; subjectType: string | null; subjectId: string | null }>> {
    if (types.length === 0) return [];
    const rows: Array<{ fingerprint: string; type: AlertType; subject_type: string | null; subject_id: string | null }> = await em.execute(
      `select fingerprint, type, subject_type, subject_id from alerts where resolved_at is null and type in (?)`,
      [types],
    );
    return rows.map((r) => ({ fingerprint: r.fingerprint, type: r.type, subjectType: r.subject_type, subjectId: r.subject_id }));
  }

  async openCountsBySeverity(em: Pick<EntityManager, 'execute'>): Promise<Record<AlertSeverity, number>> {
    const rows: Array<{ severity: AlertSeverity; count: string }> = await em.execute(
      `select severity, count(*) as count from alerts where resolved_at is null group by severity`,
    );
    const counts = Object.fromEntries(Object.keys(SEVERITY_RANK).map((s) => [s, 0])) as Record<AlertSeverity, number>;
    for (const row of rows) counts[row.severity] = Number(row.count);
    return counts;
  }

  async openCountsByType(em: EntityManager): Promise<Array<{ type: AlertType; count: number }>> {
    const rows: Array<{ type: AlertType; count: string }> = await em.execute(
      `select type, count(*) as count from alerts where resolved_at is null group by type order by count(*) desc`,
    );
    return rows.map((r) => ({ type: r.type, count: Number(r.count) }));
  }
}

export type AlertPayload = ReturnType<typeof toAlertPayload>;

export function toAlertPayload(alert: Alert) {
  return {
    id: alert.id,
    type: alert.type,
    severity: alert.severity,
    title: alert.title,
    detail: alert.detail,
    subjectType: alert.subjectType,
    subjectId: alert.subjectId,
    fingerprint: alert.fingerprint,
    occurrences: alert.occurrences,
    firstSeenAt: alert.firstSeenAt,
    lastSeenAt: alert.lastSeenAt,
    resolvedAt: alert.resolvedAt,
    resolvedBy: alert.resolvedBy,
    resolutionNote: alert.resolutionNote,
    notifyStatus: alert.notifyStatus,
    notifyAttempts: alert.notifyAttempts,
    notifyError: alert.notifyError,
    createdAt: alert.createdAt,
    updatedAt: alert.updatedAt,
  };
}

/** The `alertResolved` event: the alert with detail and note cut to fit one NOTIFY (alert(id) has them whole). */
export function toResolvedAlertPayload(alert: Alert): AlertPayload {
  const payload = toAlertPayload(alert);
  return {
    ...payload,
    detail: payload.detail.slice(0, MAX_RESOLVED_EVENT_TEXT),
    resolutionNote: payload.resolutionNote?.slice(0, MAX_RESOLVED_EVENT_TEXT) ?? null,
  };
}
