/**
 * recoveryStats' counters recounted the slow way, from every delivery row: what the triggers on
 * deliveries must keep delivery_counters equal to. The bucket bounds are written out again here
 * on purpose (an independent oracle for the migration's).
 */
export const RECOUNT_SQL = `
  with d as (select status, recovered, extract(epoch from delivered_at - paid_at)::float8 as s from deliveries),
  keys as (
    select 'successful' as key, 1 as n, 0::float8 as seconds from d
    union all select case status when 'DELIVERED' then 'delivered' when 'FAILED' then 'failed' when 'AWAITING_CUSTOMER' then 'awaiting' else 'pending' end, 1, 0 from d
    union all select 'recovered', 1, 0 from d where status = 'DELIVERED' and recovered
    union all select 'timed', 1, s from d where status = 'DELIVERED' and s is not null
    union all select coalesce('le_' || (select min(b) from unnest(array[1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800]) b where s <= b), 'le_inf'), 1, 0
      from d where status = 'DELIVERED' and s is not null)
  select key, sum(n)::float8 as n, sum(seconds)::float8 as seconds from keys group by key order by key`;

export const COUNTERS_SQL = `select key, sum(n)::float8 as n, sum(seconds)::float8 as seconds from delivery_counters group by key having sum(n) <> 0 order by key`;

export interface KeyCount {
  key: string;
  n: number;
  seconds: number;
}

/** Rounded so that float sums taken in another order compare equal. */
export const normalised = (rows: KeyCount[]): KeyCount[] => rows.map((r) => ({ key: r.key, n: Number(r.n), seconds: Math.round(Number(r.seconds) * 1000) / 1000 }));
