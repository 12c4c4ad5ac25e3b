import type { EntityManager } from '@mikro-orm/postgresql';
import { DeliveryStatus } from './delivery-status';

/**
 * Deliveries per status without a count over deliveries: DELIVERED, FAILED and AWAITING_CUSTOMER
 * from delivery_counters (kept by triggers, a few hundred rows); PENDING and IN_PROGRESS (the
 * counters keep them as one) counted over the owed rows only, through the partial indexes on them.
 */
export const DELIVERY_COUNTERS_SQL = `select key, sum(n)::float8 as n from delivery_counters where key in ('delivered', 'failed', 'awaiting') group by key`;
export const OWED_DELIVERIES_SQL = `select status, count(*)::float8 as n from deliveries where status in ('PENDING', 'IN_PROGRESS') group by status`;
/** The oldest owed delivery: one read of deliveries_owed_since. */
export const OLDEST_OWED_SQL = `select min(owed_since) as at from deliveries where status in ('PENDING', 'IN_PROGRESS')`;

export interface DeliveryFigures {
  byStatus: Record<DeliveryStatus, number>;
  /** When the longest-owed delivery became owed; null when none is owed. */
  oldestOwedSince: Date | null;
}

const COUNTER_KEYS: Record<string, DeliveryStatus> = { delivered: DeliveryStatus.DELIVERED, failed: DeliveryStatus.FAILED, awaiting: DeliveryStatus.AWAITING_CUSTOMER };

export async function deliveryFigures(em: Pick<EntityManager, 'execute'>): Promise<DeliveryFigures> {
  const byStatus = Object.fromEntries(Object.values(DeliveryStatus).map((s) => [s, 0])) as Record<DeliveryStatus, number>;
  const counters: Array<{ key: string; n: number }> = await em.execute(DELIVERY_COUNTERS_SQL);
  for (const row of counters) byStatus[COUNTER_KEYS[row.key]] = Number(row.n);
  const owed: Array<{ status: DeliveryStatus; n: number }> = await em.execute(OWED_DELIVERIES_SQL);
  for (const row of owed) byStatus[row.status] = Number(row.n);
  const [oldest]: Array<{ at: Date | string | null }> = await em.execute(OLDEST_OWED_SQL);
  return { byStatus, oldestOwedSince: oldest?.at ? new Date(oldest.at) : null };
}
