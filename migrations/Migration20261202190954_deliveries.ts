import { Migration } from '@mikro-orm/migrations';

/**
 * Delivery moves out of `payments` into its own table, keyed by payment id, and gets counters for
 * recoveryStats. The counters are kept by statement-level triggers on `deliveries`, so every
 * writer (the service, an operator's SQL, this migration's own copy) keeps them in the same
 * transaction. They are spread over 16 shards by backend so concurrent deliveries do not queue on
 * one row; a change that moves no counter (a claim: PENDING -> IN_PROGRESS) writes nothing.
 * Seconds-to-delivery buckets are upper bounds (`le_<seconds>`); the service reads them by name.
 */
const BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800];

const bucketCase = `case ${BUCKETS.map((b) => `when s <= ${b} then 'le_${b}'`).join(' ')} else 'le_inf' end`;

const OLD_COLUMNS = ['delivery_status', 'delivery_attempts', 'delivery_last_attempt_at', 'delivery_next_attempt_at', 'delivery_failure_reason', 'delivery_recovered', 'delivery_email_claimed_at', 'delivery_emailed_at', 'delivered_at'];

export class Migration20261202190954_deliveries extends Migration {

  override async up(): Promise<void> {
    // Nothing may be left behind: delivery data on a payment without a delivery status is refused.
    this.addSql(`do $$ begin
      if exists (select 1 from "payments" where "delivery_status" is null and ("delivery_attempts" <> 0 or "delivery_recovered" or "delivered_at" is not null
          or "delivery_last_attempt_at" is not null or "delivery_next_attempt_at" is not null or "delivery_failure_reason" is not null
          or "delivery_email_claimed_at" is not null or "delivery_emailed_at" is not null)) then
        raise exception 'payments with delivery data but no delivery_status: fix them before moving deliveries';
      end if; end $$;`);

    this.addSql(`create table "deliveries" (
      "payment_id" uuid not null,
      "status" text check ("status" in ('PENDING', 'IN_PROGRESS', 'AWAITING_CUSTOMER', 'DELIVERED', 'FAILED')) not null,
      "attempts" int not null default 0,
      "last_attempt_at" timestamptz null,
      "next_attempt_at" timestamptz null,
      "failure_reason" text null,
      "recovered" boolean not null default false,
      "email_claimed_at" timestamptz null,
      "emailed_at" timestamptz null,
      "delivered_at" timestamptz null,
      "access_revoked_at" timestamptz null,
      "access_revoked_reason" text null,
      "paid_at" timestamptz null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "deliveries_pkey" primary key ("payment_id"),
      constraint "deliveries_payment_id_foreign" foreign key ("payment_id") references "payments" ("id") on update cascade on delete cascade);`);
    this.addSql(`create index "deliveries_due" on "deliveries" ("next_attempt_at") where "status" in ('PENDING', 'IN_PROGRESS');`);
    this.addSql(`create index "deliveries_attention" on "deliveries" ("status", "created_at") where "status" in ('FAILED', 'AWAITING_CUSTOMER');`);

    this.addSql(`create table "delivery_counters" ("shard" smallint not null, "key" text not null, "n" bigint not null default 0, "seconds" double precision not null default 0, constraint "delivery_counters_pkey" primary key ("shard", "key"));`);
    this.addSql(`create function "delivery_stat_keys"(status text, recovered boolean, paid_at timestamptz, delivered_at timestamptz)
      returns table ("key" text, "seconds" double precision) language sql immutable as $$
        select k.key, k.seconds from (select extract(epoch from delivered_at - paid_at)::float8 as s) t,
          lateral (values
            ('successful', 0::float8, true),
            (case status when 'DELIVERED' then 'delivered' when 'FAILED' then 'failed' when 'AWAITING_CUSTOMER' then 'awaiting' else 'pending' end, 0, true),
            ('recovered', 0, status = 'DELIVERED' and recovered),
            ('timed', t.s, status = 'DELIVERED' and t.s is not null),
            (${bucketCase}, 0, status = 'DELIVERED' and t.s is not null)
          ) as k(key, seconds, applies)
         where k.applies
      $$;`);
    const apply = (rows: string) => `insert into "delivery_counters" as c ("shard", "key", "n", "seconds")
        select pg_backend_pid() % 16, d.key, sum(d.n), sum(d.seconds) from (${rows}) d
         group by d.key having sum(d.n) <> 0 or sum(d.seconds) <> 0 order by d.key
        on conflict ("shard", "key") do update set "n" = c."n" + excluded."n", "seconds" = c."seconds" + excluded."seconds";`;
    const plus = `select k.key, 1 as n, k.seconds from new_rows r, lateral delivery_stat_keys(r.status, r.recovered, r.paid_at, r.delivered_at) k`;
    const minus = `select k.key, -1 as n, -k.seconds as seconds from old_rows r, lateral delivery_stat_keys(r.status, r.recovered, r.paid_at, r.delivered_at) k`;
    this.addSql(`create function "deliveries_count"() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then ${apply(plus)}
        elsif tg_op = 'DELETE' then ${apply(minus)}
        elsif tg_op = 'UPDATE' then ${apply(`${plus} union all ${minus}`)}
        else delete from "delivery_counters";
        end if;
        return null;
      end $$;`);
    this.addSql(`create trigger "deliveries_count_insert" after insert on "deliveries" referencing new table as new_rows for each statement execute function "deliveries_count"();`);
    this.addSql(`create trigger "deliveries_count_update" after update on "deliveries" referencing old table as old_rows new table as new_rows for each statement execute function "deliveries_count"();`);
    this.addSql(`create trigger "deliveries_count_delete" after delete on "deliveries" referencing old table as old_rows for each statement execute function "deliveries_count"();`);
    this.addSql(`create trigger "deliveries_count_truncate" after truncate on "deliveries" for each statement execute function "deliveries_count"();`);

    // The copy fires the insert trigger: the counters are seeded from the same rows.
    this.addSql(`insert into "deliveries" ("payment_id", "status", "attempts", "last_attempt_at", "next_attempt_at", "failure_reason", "recovered",
        "email_claimed_at", "emailed_at", "delivered_at", "paid_at", "created_at", "updated_at")
      select "id", "delivery_status", "delivery_attempts", "delivery_last_attempt_at", "delivery_next_attempt_at", "delivery_failure_reason", "delivery_recovered",
        "delivery_email_claimed_at", "delivery_emailed_at", "delivered_at", "paid_at", coalesce("paid_at", "created_at"), "updated_at"
        from "payments" where "delivery_status" is not null;`);

    this.addSql(`drop index "payments_delivery_due";`);
    this.addSql(`drop index "payments_delivery_attention";`);
    // Manual capture asks the delivery by key; authorized manual payments are few (captured or released within days).
    this.addSql(`drop index if exists "payments_capture_due";`);
    this.addSql(`create index "payments_capture_due" on "payments" ("capture_next_attempt_at") where "status" = 'AUTHORIZED' and "capture_mode" = 'MANUAL';`);
    this.addSql(`alter table "payments" ${OLD_COLUMNS.map((c) => `drop column "${c}"`).join(', ')};`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "payments" add column "delivery_status" text check ("delivery_status" in ('PENDING', 'IN_PROGRESS', 'AWAITING_CUSTOMER', 'DELIVERED', 'FAILED')) null,
      add column "delivery_attempts" int not null default 0, add column "delivery_last_attempt_at" timestamptz null, add column "delivery_next_attempt_at" timestamptz null,
      add column "delivery_failure_reason" text null, add column "delivery_recovered" boolean not null default false, add column "delivery_email_claimed_at" timestamptz null,
      add column "delivery_emailed_at" timestamptz null, add column "delivered_at" timestamptz null;`);
    this.addSql(`update "payments" p set "delivery_status" = d."status", "delivery_attempts" = d."attempts", "delivery_last_attempt_at" = d."last_attempt_at",
      "delivery_next_attempt_at" = d."next_attempt_at", "delivery_failure_reason" = d."failure_reason", "delivery_recovered" = d."recovered",
      "delivery_email_claimed_at" = d."email_claimed_at", "delivery_emailed_at" = d."emailed_at", "delivered_at" = d."delivered_at"
      from "deliveries" d where d."payment_id" = p."id";`);
    this.addSql(`drop index "payments_capture_due";`);
    this.addSql(`create index "payments_capture_due" on "payments" ("capture_next_attempt_at") where "status" = 'AUTHORIZED' and "capture_mode" = 'MANUAL' and "delivery_status" = 'DELIVERED';`);
    this.addSql(`create index "payments_delivery_attention" on "payments" ("delivery_status", "created_at") where "delivery_status" in ('FAILED', 'AWAITING_CUSTOMER');`);
    this.addSql(`create index "payments_delivery_due" on "payments" ("delivery_next_attempt_at") where "delivery_status" in ('PENDING', 'IN_PROGRESS');`);
    this.addSql(`drop table "deliveries" cascade;`);
    this.addSql(`drop function "deliveries_count"();`);
    this.addSql(`drop function "delivery_stat_keys"(text, boolean, timestamptz, timestamptz);`);
    this.addSql(`drop table "delivery_counters";`);
  }

}
