import { Migration } from '@mikro-orm/migrations';

/**
 * What /metrics needs to read business figures without scanning a big table (issue 14.2).
 *
 * - `payment_counters`: payments per status, kept by statement-level triggers on `payments` as
 *   `delivery_counters` is kept for deliveries, so every writer (PaymentTransitions, the batch's
 *   set-based UPDATE, an operator's SQL, inserts, deletes) moves them in its own transaction. Spread
 *   over 64 shards by backend: concurrent transactions queue on one counter row only when their
 *   backends share a shard. A statement that changes no status (most payment UPDATEs) writes
 *   nothing. A count(*) group by status over payments would read every row at each scrape, and
 *   pg_class.reltuples is an estimate of the whole table only.
 * - `deliveries.owed_since`: when the delivery last became owed (entered PENDING or IN_PROGRESS from
 *   another status, or was inserted owed), set by a row trigger from the writer's own `updated_at`
 *   (`created_at` on insert), so it follows the app's clock; null when nothing is owed. Neither
 *   created_at (too old for a delivery reopened or woken later) nor updated_at (moved by every
 *   attempt) says it. Indexed over the owed rows only: the oldest owed delivery is one index read.
 * - `reconciliation_findings_alert`: an open finding is one whose alert is still open; the scrape
 *   goes from the few open alerts to their findings through this index.
 */
const SHARDS = 64;
const OWED = `('PENDING', 'IN_PROGRESS')`;

export class Migration20261203060500_business_metrics extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "payment_counters" ("shard" smallint not null, "status" text not null, "n" bigint not null default 0, constraint "payment_counters_pkey" primary key ("shard", "status"));`);
    const apply = (rows: string) => `insert into "payment_counters" as c ("shard", "status", "n")
        select pg_backend_pid() % ${SHARDS}, d.status, sum(d.n) from (${rows}) d
         group by d.status having sum(d.n) <> 0 order by d.status
        on conflict ("shard", "status") do update set "n" = c."n" + excluded."n";`;
    const plus = `select status, 1 as n from new_rows`;
    const minus = `select status, -1 as n from old_rows`;
    this.addSql(`create function "payments_count"() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then ${apply(plus)}
        elsif tg_op = 'DELETE' then ${apply(minus)}
        elsif tg_op = 'UPDATE' then ${apply(`${plus} union all ${minus}`)}
        else delete from "payment_counters";
        end if;
        return null;
      end $$;`);
    // The triggers first: creating one locks payments against writes until this migration commits,
    // so no write falls between the count below and the triggers that take over from it.
    this.addSql(`create trigger "payments_count_insert" after insert on "payments" referencing new table as new_rows for each statement execute function "payments_count"();`);
    this.addSql(`create trigger "payments_count_update" after update on "payments" referencing old table as old_rows new table as new_rows for each statement execute function "payments_count"();`);
    this.addSql(`create trigger "payments_count_delete" after delete on "payments" referencing old table as old_rows for each statement execute function "payments_count"();`);
    this.addSql(`create trigger "payments_count_truncate" after truncate on "payments" for each statement execute function "payments_count"();`);
    this.addSql(`insert into "payment_counters" ("shard", "status", "n") select 0, "status", count(*) from "payments" group by "status";`);

    this.addSql(`alter table "deliveries" add column "owed_since" timestamptz null;`);
    // Rows owed now: when they became owed is not recorded anywhere; their creation is the earliest it can have been.
    this.addSql(`update "deliveries" set "owed_since" = "created_at" where "status" in ${OWED};`);
    this.addSql(`create function "deliveries_owed_since"() returns trigger language plpgsql as $$
      begin
        if new.status not in ${OWED} then
          new.owed_since := null;
        elsif tg_op = 'INSERT' then
          new.owed_since := coalesce(new.owed_since, new.created_at);
        elsif old.status not in ${OWED} or new.owed_since is null then
          new.owed_since := new.updated_at;
        end if;
        return new;
      end $$;`);
    this.addSql(`create trigger "deliveries_owed_since" before insert or update of "status" on "deliveries" for each row execute function "deliveries_owed_since"();`);
    this.addSql(`create index "deliveries_owed_since" on "deliveries" ("owed_since") where "status" in ${OWED};`);

    this.addSql(`create index "reconciliation_findings_alert" on "reconciliation_findings" ("alert_id") where "alert_id" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "reconciliation_findings_alert";`);
    this.addSql(`drop trigger "deliveries_owed_since" on "deliveries";`);
    this.addSql(`drop function "deliveries_owed_since"();`);
    this.addSql(`drop index "deliveries_owed_since";`);
    this.addSql(`alter table "deliveries" drop column "owed_since";`);
    for (const op of ['insert', 'update', 'delete', 'truncate']) this.addSql(`drop trigger "payments_count_${op}" on "payments";`);
    this.addSql(`drop function "payments_count"();`);
    this.addSql(`drop table "payment_counters";`);
  }

}
