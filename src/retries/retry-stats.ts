import type { EntityManager } from '@mikro-orm/postgresql';
import type { RetryJobStatus } from './retry-job.entity';

export interface MoneyTotal {
  currency: string;
  amountMinor: number;
}

export interface RetryStatsView {
  byStatus: Array<{ status: RetryJobStatus; count: number }>;
  /** Open jobs (queued or charging), per currency: money not collected yet. */
  amountAtRisk: MoneyTotal[];
  /** Jobs that succeeded on a retry, after a failure, per currency. */
  recoveredAmount: MoneyTotal[];
  /** recovered / (recovered + exhausted); null before any job has finished either way. */
  successRate: number | null;
  topErrorCodes: Array<{ code: string; count: number }>;
}

const money = (rows: Array<{ currency: string; total: string }>): MoneyTotal[] => rows.map((r) => ({ currency: r.currency, amountMinor: Number(r.total) }));

/** Aggregates over retry_jobs; money is summed per currency, never across currencies. */
export async function retryStats(em: EntityManager, topCodes = 5): Promise<RetryStatsView> {
  const [byStatus, atRisk, recovered, rate, codes] = await Promise.all([
    em.execute<Array<{ status: RetryJobStatus; count: number }>>(`select status, count(*)::int as count from retry_jobs group by status order by status`),
    em.execute<Array<{ currency: string; total: string }>>(`select currency, sum(amount_minor)::bigint as total from retry_jobs where status in ('QUEUED', 'PROCESSING') group by currency order by currency`),
    em.execute<Array<{ currency: string; total: string }>>(`select currency, sum(amount_minor)::bigint as total from retry_jobs where status = 'SUCCEEDED' and recovered group by currency order by currency`),
    em.execute<Array<{ won: number; lost: number }>>(`select count(*) filter (where status = 'SUCCEEDED' and recovered)::int as won, count(*) filter (where status = 'EXHAUSTED')::int as lost from retry_jobs`),
    em.execute<Array<{ code: string; count: number }>>(
      `select coalesce(decline_code, error_code) as code, count(*)::int as count from retry_jobs
        where coalesce(decline_code, error_code) is not null group by 1 order by 2 desc, 1 limit ?`,
      [topCodes],
    ),
  ]);
  const { won, lost } = rate[0] ?? { won: 0, lost: 0 };
  return {
    byStatus,
    amountAtRisk: money(atRisk),
    recoveredAmount: money(recovered),
    successRate: won + lost === 0 ? null : won / (won + lost),
    topErrorCodes: codes,
  };
}

/**
 * Open jobs (queued or charging) per status and reason, over the open rows only (the partial
 * unique index retry_jobs_one_open_per_payment): finished jobs, which pile up, are not read.
 */
export const OPEN_RETRY_JOBS_SQL = `select status, coalesce(reason, 'NONE') as reason, count(*)::float8 as n from retry_jobs where status in ('QUEUED', 'PROCESSING') group by 1, 2`;

/** `reason` NONE: no charge of the job has failed yet (a renewal or chargeWithRetry still to be sent). */
export async function openRetryJobCounts(em: Pick<EntityManager, 'execute'>): Promise<Array<{ status: RetryJobStatus; reason: string; n: number }>> {
  const rows: Array<{ status: RetryJobStatus; reason: string; n: number }> = await em.execute(OPEN_RETRY_JOBS_SQL);
  return rows.map((r) => ({ status: r.status, reason: r.reason, n: Number(r.n) }));
}
