import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, Database, Tx } from '../database/transaction';
import { recordAudit } from '../audit/audit.service';
import { AppError } from '../shared/errors';
import { isUuid } from '../shared/ids';
import { Topic } from '../shared/topics';
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

/** Postgres NOTIFY payloads are capped at 8000 bytes; an alert's detail never needs more than this. */
const MAX_DETAIL = 2000;

export class AlertService {
  constructor(private readonly db: Database) {}

  /**
   * Raises or bumps an alert inside the caller's transaction. A new alert is published to
   * `alertRaised` after commit; a repeat only counts.
   */
  async raise(tx: Tx, input: RaiseAlert): Promise<{ alert: Alert; created: boolean }> {
    const now = tx.clock.now();
    const fingerprint = input.fingerprint ?? [input.type, input.subjectType ?? '', input.subjectId ?? ''].join(':');
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
    if (rows[0].inserted) tx.publish(Topic.ALERT_RAISED, toAlertPayload(alert));
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
      return alert;
    });
  }

  async openCountsBySeverity(em: EntityManager): Promise<Record<AlertSeverity, number>> {
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
    createdAt: alert.createdAt,
    updatedAt: alert.updatedAt,
  };
}
