import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Events stored and not applied (waiting, failing, or given up on), over the unprocessed rows
 * only (partial index gateway_events_unprocessed): O(backlog), not O(events received).
 */
export const INBOX_UNAPPLIED_SQL = `select count(*)::float8 as n, min(received_at) as oldest from gateway_events where processed_at is null`;

export interface InboxFigures {
  unapplied: number;
  /** When the oldest unapplied event was received; null when every event is applied. */
  oldestReceivedAt: Date | null;
}

export async function inboxFigures(em: Pick<EntityManager, 'execute'>): Promise<InboxFigures> {
  const [row]: Array<{ n: number; oldest: Date | string | null }> = await em.execute(INBOX_UNAPPLIED_SQL);
  return { unapplied: Number(row?.n ?? 0), oldestReceivedAt: row?.oldest ? new Date(row.oldest) : null };
}
