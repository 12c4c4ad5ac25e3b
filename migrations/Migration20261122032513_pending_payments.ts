import { Migration } from '@mikro-orm/migrations';

export class Migration20261122032513_pending_payments extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "cleanup_runs" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "trigger" text not null, "started_at" timestamptz not null, "finished_at" timestamptz null, "expired" int not null default 0, "found_paid" int not null default 0, "errors" int not null default 0, "last_error" text null, constraint "cleanup_runs_pkey" primary key ("id"));`);
    this.addSql(`create index "cleanup_runs_started_at_index" on "cleanup_runs" ("started_at");`);

    this.addSql(`drop index "payments_customer_bundle_open";`);

    this.addSql(`alter table "payments" add column "refund_requested_at" timestamptz null, add column "refund_reason" text null;`);
    this.addSql(`create index "payments_refund_requested" on "payments" ("refund_requested_at") where "refund_requested_at" is not null and "status" = 'SUCCEEDED';`);
    this.addSql(`create unique index "payments_one_open_per_customer_bundle" on "payments" ("customer_id", "bundle_id") where "status" in ('PENDING', 'FAILED');`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "cleanup_runs" cascade;`);

    this.addSql(`drop index "payments_refund_requested";`);
    this.addSql(`drop index "payments_one_open_per_customer_bundle";`);
    this.addSql(`alter table "payments" drop column "refund_requested_at", drop column "refund_reason";`);

    this.addSql(`CREATE INDEX payments_customer_bundle_open ON public.payments USING btree (customer_id, bundle_id) WHERE (status = ANY (ARRAY['PENDING'::text, 'FAILED'::text]));`);
  }

}
