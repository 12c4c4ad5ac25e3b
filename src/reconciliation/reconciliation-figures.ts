import type { EntityManager } from '@mikro-orm/postgresql';
import { FindingType } from './reconciliation-finding.entity';

/**
 * Open findings per type: a discrepancy a run found whose alert is still open (nobody resolved it
 * and no later run found it gone), counted once however many nightly runs found it again. From the
 * open alerts (a small set, partial indexes on resolved_at is null) to a finding of each through
 * reconciliation_findings_alert; findings without an alert (nothing left to do) are never open.
 */
export const OPEN_FINDINGS_SQL = `
  select f.type, count(*)::float8 as n
    from alerts a
    cross join lateral (select type from reconciliation_findings f where f.alert_id = a.id limit 1) f
   where a.resolved_at is null
   group by f.type`;

/** Every finding type, 0 when none is open. */
export async function openFindingCounts(em: Pick<EntityManager, 'execute'>): Promise<Record<FindingType, number>> {
  const rows: Array<{ type: string; n: number }> = await em.execute(OPEN_FINDINGS_SQL);
  const counts = Object.fromEntries(Object.values(FindingType).map((t) => [t, 0])) as Record<FindingType, number>;
  for (const row of rows) if (row.type in counts) counts[row.type as FindingType] = Number(row.n);
  return counts;
}
