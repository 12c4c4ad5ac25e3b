import type { EntityManager } from '@mikro-orm/postgresql';
import { PaymentStatus } from './payment-status';

/**
 * Payments per status from payment_counters (kept by triggers on payments): a few hundred rows
 * at most (64 shards × 8 statuses), whatever the number of payments. Never a count over payments.
 */
export const PAYMENT_COUNTS_SQL = `select status, sum(n)::float8 as n from payment_counters group by status`;

/** Every status, 0 when there is none. */
export async function paymentCountsByStatus(em: Pick<EntityManager, 'execute'>): Promise<Record<PaymentStatus, number>> {
  const rows: Array<{ status: string; n: number }> = await em.execute(PAYMENT_COUNTS_SQL);
  const counts = Object.fromEntries(Object.values(PaymentStatus).map((s) => [s, 0])) as Record<PaymentStatus, number>;
  for (const row of rows) if (row.status in counts) counts[row.status as PaymentStatus] = Number(row.n);
  return counts;
}
