import type { JobDefinition } from '../platform/jobs/job';
import type { Database } from '../platform/database/transaction';
import { dayKey } from './analytics-buckets';

const DAY_MS = 86_400_000;
/** Rows folded per statement; a run repeats until a statement folds fewer. */
const BATCH = 20_000;
/** A run stops after this long; the next continues. */
const MAX_RUN_MS = 60_000;

/** Each rollup with its key columns (besides shard) and counters. */
const TABLES: Array<{ table: string; keys: string[]; counters: string[] }> = [
  { table: 'analytics_daily', keys: ['currency', 'day'], counters: ['gross_minor', 'refunded_minor', 'payments', 'first_purchases', 'renewals', 'checkouts_started', 'checkouts_succeeded'] },
  { table: 'subscription_daily', keys: ['day'], counters: ['started', 'ended'] },
  {
    table: 'delivery_daily',
    keys: ['day'],
    counters: ['delivered', 'recovered', 'failed', 'timed', 'seconds', ...[1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800].map((b) => `le_${b}`), 'le_inf'],
  },
];

/**
 * One statement per batch: shard rows (1–15) of days before the cutoff, except those a transaction
 * holds right now (SKIP LOCKED: a payment never waits for this), are deleted and their sums added to
 * the day's shard 0, in key order as the triggers take rows.
 */
export function compactionSql(t: (typeof TABLES)[number]): string {
  const keys = t.keys.join(', ');
  return `with picked as (select ${keys}, shard from ${t.table} where day < ?::date and shard <> 0 order by ${keys}, shard limit ? for update skip locked),
     moved as (delete from ${t.table} r using picked p where ${[...t.keys, 'shard'].map((k) => `r.${k} = p.${k}`).join(' and ')} returning r.*),
     folded as (insert into ${t.table} as r (${keys}, shard, ${t.counters.join(', ')})
                select ${keys}, 0, ${t.counters.map((c) => `sum(${c})`).join(', ')} from moved group by ${keys} order by ${keys}
                on conflict (${keys}, shard) do update set ${t.counters.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ')}
                returning 1)
  select (select count(*) from moved)::int as moved, (select count(*) from folded)::int as days`;
}

export interface CompactionReport {
  rowsFolded: number;
  days: number;
  durationMs: number;
}

/**
 * The rollups keep 16 shard rows a day so that concurrent payments do not queue on one row; once
 * a day is over (from the day before yesterday back, UTC) nothing but a late checkout's success
 * still writes to it, so its shards are folded into one row: a year of days is read from 365 rows
 * a currency instead of up to 5,840. Reads sum whatever shards a day has, so a day is right before,
 * during and after its folding; a row a late write re-creates is folded by the next run.
 */
export class AnalyticsCompaction {
  constructor(private readonly db: Database) {}

  async run(): Promise<CompactionReport> {
    const started = Date.now();
    const report = { rowsFolded: 0, days: 0, durationMs: 0 };
    const cutoff = dayKey(new Date(this.db.clock.now().getTime() - DAY_MS));
    for (const table of TABLES) {
      const sql = compactionSql(table);
      for (let moved = BATCH; moved === BATCH && Date.now() - started < MAX_RUN_MS; ) {
        const [row] = await this.db.transaction((tx) => tx.em.execute<Array<{ moved: number; days: number }>>(sql, [cutoff, BATCH]));
        moved = row.moved;
        report.rowsFolded += row.moved;
        report.days += row.days;
      }
    }
    report.durationMs = Date.now() - started;
    return report;
  }
}

export function analyticsCompactionJob(compaction: AnalyticsCompaction): JobDefinition {
  return {
    name: 'analytics:compact',
    description: "Folds the 16 shard rows of each finished day of the analytics rollups into one (yesterday's and today's stay sharded).",
    schedule: { every: '1 hour' },
    handler: async () => ({ ...(await compaction.run()) }),
  };
}
