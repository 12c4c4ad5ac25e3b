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

/**
 * Appends many audit entries in one statement, inside the caller's transaction (the inbox's batch
 * path writes the same entries recordAudit would, for a whole batch at once).
 */
export async function recordAuditMany(tx: Tx, actor: Actor, records: AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const now = tx.clock.now();
  // created_at/updated_at from the wall clock, `at` from the app's clock: as the entity does.
  const written = new Date();
  const rows = records.map((r) => ({ action: r.action, subject_type: r.subjectType, subject_id: r.subjectId, before: r.before ?? null, after: r.after ?? null, note: r.note ?? null }));
  await tx.em.execute(
    `insert into audit_entries (id, created_at, updated_at, actor, request_id, action, subject_type, subject_id, before, after, note, at)
     select gen_random_uuid(), ?, ?, ?, ?, e.j->>'action', e.j->>'subject_type', e.j->>'subject_id', nullif(e.j->'before', 'null'::jsonb), nullif(e.j->'after', 'null'::jsonb), e.j->>'note', ?
       from jsonb_array_elements(?::jsonb) with ordinality as e(j, n) order by e.n`,
    [written, written, actor.id, actor.requestId ?? null, now, JSON.stringify(rows)],
  );
}
