import type { Actor, Tx } from '../platform/database/transaction';
import { AuditEntry } from './audit-entry.entity';

export interface AuditRecord {
  action: string;
  subjectType: string;
  subjectId: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  note?: string | null;
}

/** Appends an audit entry inside the caller's transaction: it commits or rolls back with the change. */
export function recordAudit(tx: Tx, actor: Actor, record: AuditRecord): AuditEntry {
  const entry = tx.em.create(AuditEntry, {
    actor: actor.id,
    requestId: actor.requestId ?? null,
    action: record.action,
    subjectType: record.subjectType,
    subjectId: record.subjectId,
    before: record.before ?? null,
    after: record.after ?? null,
    note: record.note ?? null,
    at: tx.clock.now(),
  });
  tx.em.persist(entry);
  return entry;
}
