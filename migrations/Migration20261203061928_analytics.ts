import { Migration } from '@mikro-orm/migrations';

/**
 * Daily rollups for revenueSeries and deliverySeries (src/analytics/), kept by statement-level
 * triggers on the tables whose changes they count, so every writer (PaymentTransitions.transition
 * and succeedMany, the refund paths, checkout creation, the subscription listeners and the expiry
 * batch, every delivery statement, an operator's SQL) moves them in its own transaction, one
 * statement however many rows it changed.
 *
 * - analytics_daily (currency, day, shard): money and checkouts. A payment counts once, on the UTC
 *   day its succeeded_at was first set (gross, payments, renewals, first purchases); refunds count
 *   on the day their change was recorded, by the change in refunded_minor (a failed refund lowers
 *   it again); checkouts_started / checkouts_succeeded count on the day the checkout was created.
 * - subscription_daily (day, shard): subscriptions that started running (ACTIVE or PAST_DUE, not a
 *   test) and that ended (lapsed); active at a day's end is the running sum.
 * - delivery_daily (day, shard): deliveries that became DELIVERED (recovered among them, and their
 *   seconds from payment to delivery in the fixed buckets delivery_counters uses) and FAILED.
 *
 * Rows are spread over 16 shards by backend, as delivery_counters are: concurrent payments of one
 * day do not queue on one row; readers sum the shards. Each upsert takes its rows in key order.
 * Everything already in the database is counted by the backfill below, with the same definitions
 * where the rows still say what happened (see each statement for where they cannot).
 */
/** delivery_counters' bucket bounds (migration 20261202190954), as columns: le_<seconds>, then le_inf. */
const BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800];
const BUCKET_COLUMNS = [...BUCKETS.map((b) => `le_${b}`), 'le_inf'];

const day = (ts: string) => `(${ts} at time zone 'UTC')::date`;
const SHARD = `pg_backend_pid() % 16`;

const MONEY = ['gross_minor', 'refunded_minor', 'payments', 'first_purchases', 'renewals', 'checkouts_started', 'checkouts_succeeded'];
const upsert = (table: string, keys: string[], columns: string[], rows: string, shard = SHARD) => `insert into "${table}" as t (${[...keys, 'shard', ...columns].map((c) => `"${c}"`).join(', ')})
    select ${keys.map((k) => `d."${k}"`).join(', ')}, ${shard}, ${columns.map((c) => `sum(d."${c}")`).join(', ')} from (${rows}) d
     group by ${keys.map((k) => `d."${k}"`).join(', ')} having ${columns.map((c) => `sum(d."${c}") <> 0`).join(' or ')}
     order by ${keys.map((k) => `d."${k}"`).join(', ')}
    on conflict (${[...keys, 'shard'].map((c) => `"${c}"`).join(', ')}) do update set ${columns.map((c) => `"${c}" = t."${c}" + excluded."${c}"`).join(', ')}`;

/** A row of analytics_daily deltas: the named columns set, the others 0. */
const money = (currency: string, dayOf: string, values: Partial<Record<string, string>>) =>
  `select ${currency} as currency, ${dayOf} as day, ${MONEY.map((c) => `(${values[c] ?? '0'})::bigint as ${c}`).join(', ')}`;

/**
 * The payment deltas of one statement; `old` the old row's values (for an insert: none). A payment
 * is its customer's first purchase when it is the first of their payments to succeed (ties by id)
 * and not a renewal; only the earliest success of each customer in the statement can be, so the
 * look at earlier payments is made once per customer. Two first payments of one customer committed
 * concurrently in two transactions both count: neither can see the other.
 */
function paymentDeltas(source: string, old: { succeededAt: string; refundedMinor: string }, inserted: boolean): string {
  const succeeded = `(${old.succeededAt} is null and n.succeeded_at is not null)`;
  const refunded = `n.refunded_minor - ${old.refundedMinor}`;
  const changed = `select n.id, n.customer_id, n.currency, n.kind, n.amount_minor, n.created_at, n.succeeded_at, ${refunded} as refunded_delta, ${succeeded} as succeeded
      from ${source}${inserted ? '' : ` where ${succeeded} or ${refunded} <> 0`}`;
  const firsts = `select f.id from (select distinct on (c.customer_id) c.id, c.customer_id, c.kind, c.succeeded_at from c where c.succeeded order by c.customer_id, c.succeeded_at, c.id) f
      where f.kind <> 'RENEWAL' and not exists (select 1 from "payments" p where p.customer_id = f.customer_id and p.id <> f.id
        and p.succeeded_at is not null and (p.succeeded_at, p.id) < (f.succeeded_at, f.id))`;
  const parts = [
    `${money('c.currency', day('c.succeeded_at'), { gross_minor: 'c.amount_minor', payments: '1', renewals: `(c.kind = 'RENEWAL')::int`, first_purchases: '(c.id in (select id from firsts))::int' })} from c where c.succeeded`,
    `${money('c.currency', day('c.created_at'), { checkouts_succeeded: '1' })} from c where c.succeeded and c.kind = 'CHECKOUT'`,
    `${money('c.currency', day('now()'), { refunded_minor: 'c.refunded_delta' })} from c where c.refunded_delta <> 0`,
  ];
  if (inserted) parts.push(`${money('c.currency', day('c.created_at'), { checkouts_started: '1' })} from c where c.kind = 'CHECKOUT'`);
  return `with c as (${changed}), firsts as (${firsts})
      ${parts.join('\n      union all ')}`;
}

const running = (r: string) => `(${r}.status in ('ACTIVE', 'PAST_DUE') and not ${r}.is_test)`;

function subscriptionDeltas(tgOp: 'INSERT' | 'UPDATE' | 'DELETE'): string {
  const started = (source: string, was: string) => `select ${day('n.current_period_start')} as day, 1 as started, 0 as ended from ${source} where ${running('n')} and not ${was}`;
  const ended = (source: string, now: string, at: string) => `select ${day(at)} as day, 0 as started, 1 as ended from ${source} where ${running('o')} and not ${now}`;
  if (tgOp === 'INSERT') return started('new_rows n', 'false');
  if (tgOp === 'DELETE') return ended('old_rows o', 'false', 'now()');
  const both = 'new_rows n join old_rows o on o.id = n.id';
  return `${started(both, running('o'))} union all ${ended(both, running('n'), 'coalesce(n.lapsed_at, now())')}`;
}

const DELIVERY = ['delivered', 'recovered', 'failed', 'timed', 'seconds', ...BUCKET_COLUMNS];

/**
 * The delivery deltas of one statement: rows that became DELIVERED (with the bucket of their
 * seconds from payment to delivery, when both times are known) or FAILED in it.
 */
function deliveryDeltas(source: string, oldStatus: string): string {
  const seconds = `cross join lateral (select extract(epoch from n.delivered_at - n.paid_at)::float8 as s) x
      cross join lateral (select case when x.s is null then '' ${BUCKETS.map((b) => `when x.s <= ${b} then 'le_${b}'`).join(' ')} else 'le_inf' end as bucket) b`;
  const delivered = `select ${day('coalesce(n.delivered_at, n.updated_at)')} as day, 1 as delivered, n.recovered::int as recovered, 0 as failed,
        (x.s is not null)::int as timed, coalesce(x.s, 0) as seconds, ${BUCKET_COLUMNS.map((c) => `(b.bucket = '${c}')::int as ${c}`).join(', ')}
      from ${source} ${seconds} where n.status = 'DELIVERED' and ${oldStatus} is distinct from 'DELIVERED'`;
  const failed = `select ${day('n.updated_at')} as day, 0, 0, 1, 0, 0, ${BUCKET_COLUMNS.map(() => '0').join(', ')}
      from ${source} where n.status = 'FAILED' and ${oldStatus} is distinct from 'FAILED'`;
  return `${delivered}
      union all ${failed}`;
}

export class Migration20261203061928_analytics extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "analytics_daily" ("currency" varchar(3) not null, "day" date not null, "shard" smallint not null,
      "gross_minor" bigint not null default 0, "refunded_minor" bigint not null default 0, "payments" bigint not null default 0,
      "first_purchases" bigint not null default 0, "renewals" bigint not null default 0,
      "checkouts_started" bigint not null default 0, "checkouts_succeeded" bigint not null default 0,
      constraint "analytics_daily_pkey" primary key ("currency", "day", "shard"));`);
    this.addSql(`create table "subscription_daily" ("day" date not null, "shard" smallint not null,
      "started" bigint not null default 0, "ended" bigint not null default 0,
      constraint "subscription_daily_pkey" primary key ("day", "shard"));`);
    this.addSql(`create table "delivery_daily" ("day" date not null, "shard" smallint not null,
      "delivered" bigint not null default 0, "recovered" bigint not null default 0, "failed" bigint not null default 0,
      "timed" bigint not null default 0, "seconds" double precision not null default 0,
      ${BUCKET_COLUMNS.map((c) => `"${c}" bigint not null default 0`).join(', ')},
      constraint "delivery_daily_pkey" primary key ("day", "shard"));`);

    // Backfill, shard 0, before the triggers exist (the statements below write only the rollups).
    // Payments: exactly as the trigger counts them, except refunds: our own refunds (the refunds
    // table) on the day they completed, anything else refunded (from Stripe's dashboard) on the
    // day the payment was refunded in full, or else last changed.
    const ranked = `select p.*, row_number() over (partition by p.customer_id order by p.succeeded_at, p.id) as rank from "payments" p where p.succeeded_at is not null`;
    const ours = `select r.payment_id, ${day('r.completed_at')} as day, sum(r.amount_minor) as amount from "refunds" r where r.status = 'SUCCEEDED' and r.completed_at is not null group by 1, 2`;
    const oursTotal = `select payment_id, sum(amount) as amount from ours group by payment_id`;
    const refundRows = `${money('p.currency', 'o.day', { refunded_minor: 'o.amount' })} from ours o join "payments" p on p.id = o.payment_id join ours_total t on t.payment_id = p.id where t.amount <= p.refunded_minor
      union all ${money('p.currency', day('coalesce(p.refunded_at, p.updated_at)'), { refunded_minor: `p.refunded_minor - coalesce(case when t.amount <= p.refunded_minor then t.amount end, 0)` })}
        from "payments" p left join ours_total t on t.payment_id = p.id where p.refunded_minor > 0`;
    this.addSql(`with ours as (${ours}), ours_total as (${oursTotal}) ${upsert('analytics_daily', ['currency', 'day'], MONEY, `
      ${money('n.currency', day('n.succeeded_at'), { gross_minor: 'n.amount_minor', payments: '1', renewals: `(n.kind = 'RENEWAL')::int`, first_purchases: `(n.rank = 1 and n.kind <> 'RENEWAL')::int` })} from (${ranked}) n
      union all ${money('n.currency', day('n.created_at'), { checkouts_started: '1', checkouts_succeeded: '(n.succeeded_at is not null)::int' })} from "payments" n where n.kind = 'CHECKOUT'
      union all ${refundRows}`, '0')};`);
    // Subscriptions: the current run of each (from current_period_start, which a restart resets)
    // and, for a lapsed one, its end. Earlier runs of a subscription that lapsed and came back
    // are not in its row any more: their churn is not counted (they add nothing to active counts).
    this.addSql(`${upsert('subscription_daily', ['day'], ['started', 'ended'], `
      select ${day('s.current_period_start')} as day, 1 as started, 0 as ended from "subscriptions" s where not s.is_test
      union all select ${day('coalesce(s.lapsed_at, s.updated_at)')}, 0, 1 from "subscriptions" s where not s.is_test and s.status = 'LAPSED'`, '0')};`);
    // Deliveries: each DELIVERED or FAILED row once, on the day it got there (a FAILED row: its last change).
    this.addSql(`${upsert('delivery_daily', ['day'], DELIVERY, deliveryDeltas('"deliveries" n', 'null'), '0')};`);

    const trigger = (table: string, fn: string, body: string) => `create function "${fn}"() returns trigger language plpgsql as $$
      begin
        ${body}
        return null;
      end $$;`;
    this.addSql(trigger('payments', 'analytics_payments_count', `if tg_op = 'INSERT' then ${upsert('analytics_daily', ['currency', 'day'], MONEY, paymentDeltas('new_rows n', { succeededAt: 'null::timestamptz', refundedMinor: '0' }, true))};
        else ${upsert('analytics_daily', ['currency', 'day'], MONEY, paymentDeltas('new_rows n join old_rows o on o.id = n.id', { succeededAt: 'o.succeeded_at', refundedMinor: 'o.refunded_minor' }, false))};
        end if;`));
    this.addSql(trigger('subscriptions', 'analytics_subscriptions_count', `if tg_op = 'INSERT' then ${upsert('subscription_daily', ['day'], ['started', 'ended'], subscriptionDeltas('INSERT'))};
        elsif tg_op = 'UPDATE' then ${upsert('subscription_daily', ['day'], ['started', 'ended'], subscriptionDeltas('UPDATE'))};
        else ${upsert('subscription_daily', ['day'], ['started', 'ended'], subscriptionDeltas('DELETE'))};
        end if;`));
    this.addSql(trigger('deliveries', 'analytics_deliveries_count', `if tg_op = 'INSERT' then ${upsert('delivery_daily', ['day'], DELIVERY, deliveryDeltas('new_rows n', 'null'))};
        else ${upsert('delivery_daily', ['day'], DELIVERY, deliveryDeltas('new_rows n join old_rows o on o.payment_id = n.payment_id', 'o.status'))};
        end if;`));
    const on = (table: string, fn: string, ops: Array<'insert' | 'update' | 'delete'>) => {
      for (const op of ops) {
        const referencing = op === 'insert' ? 'new table as new_rows' : op === 'delete' ? 'old table as old_rows' : 'old table as old_rows new table as new_rows';
        this.addSql(`create trigger "${fn}_${op}" after ${op} on "${table}" referencing ${referencing} for each statement execute function "${fn}"();`);
      }
    };
    on('payments', 'analytics_payments_count', ['insert', 'update']);
    on('subscriptions', 'analytics_subscriptions_count', ['insert', 'update', 'delete']);
    on('deliveries', 'analytics_deliveries_count', ['insert', 'update']);
  }

  override async down(): Promise<void> {
    for (const [table, fn, ops] of [['payments', 'analytics_payments_count', ['insert', 'update']], ['subscriptions', 'analytics_subscriptions_count', ['insert', 'update', 'delete']], ['deliveries', 'analytics_deliveries_count', ['insert', 'update']]] as const) {
      for (const op of ops) this.addSql(`drop trigger "${fn}_${op}" on "${table}";`);
      this.addSql(`drop function "${fn}"();`);
    }
    this.addSql(`drop table "delivery_daily";`);
    this.addSql(`drop table "subscription_daily";`);
    this.addSql(`drop table "analytics_daily";`);
  }

}
