import { Migration } from '@mikro-orm/migrations';

export class Migration20261122042621_reconciliation extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "payouts" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "stripe_payout_id" text not null, "amount_minor" int not null, "currency" varchar(3) not null, "status" text not null, "failure_code" text null, "failure_message" text null, "arrival_date" timestamptz not null, "stripe_created_at" timestamptz not null, "last_seen_at" timestamptz not null, constraint "payouts_pkey" primary key ("id"));`);
    this.addSql(`alter table "payouts" add constraint "payouts_stripe_payout_id_unique" unique ("stripe_payout_id");`);
    this.addSql(`create index "payouts_failed" on "payouts" ("stripe_created_at") where "status" = 'failed';`);

    this.addSql(`create table "reconciliation_runs" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "trigger" text not null, "status" text check ("status" in ('RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED')) not null default 'RUNNING', "window_start" timestamptz not null, "window_end" timestamptz not null, "started_at" timestamptz not null, "finished_at" timestamptz null, "heartbeat_at" timestamptz not null, "duration_ms" int null, "api_calls" int not null default 0, "rate_limited" int not null default 0, "payments_checked" int not null default 0, "out_of_sync" int not null default 0, "stuck_authorizations" int not null default 0, "failed_payouts" int not null default 0, "payout_status_changes" int not null default 0, "missing_payments" int not null default 0, "unknown_gateway_payments" int not null default 0, "no_shows_released" int not null default 0, "missed_webhooks" int not null default 0, "alerts_raised" int not null default 0, "alerts_resolved" int not null default 0, "errors" jsonb not null default '[]', constraint "reconciliation_runs_pkey" primary key ("id"));`);
    this.addSql(`create unique index "reconciliation_runs_one_running" on "reconciliation_runs" ((true)) where "status" = 'RUNNING';`);
    this.addSql(`create index "reconciliation_runs_created_at_id_index" on "reconciliation_runs" ("created_at", "id");`);

    this.addSql(`create table "reconciliation_findings" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "run_id" uuid not null, "type" text check ("type" in ('PAYMENT_OUT_OF_SYNC', 'STUCK_AUTHORIZATION', 'FAILED_PAYOUT', 'MISSING_PAYMENT', 'UNKNOWN_GATEWAY_PAYMENT', 'NO_SHOW_AUTO_RELEASED', 'MISSED_WEBHOOK')) not null, "subject_type" text not null, "subject_id" text not null, "detail" text not null, "action" text not null, "alert_id" uuid null, "new_alert" boolean not null default false, "data" jsonb null, constraint "reconciliation_findings_pkey" primary key ("id"));`);
    this.addSql(`create index "reconciliation_findings_subject_id_created_at_index" on "reconciliation_findings" ("subject_id", "created_at");`);
    this.addSql(`create index "reconciliation_findings_run_id_type_index" on "reconciliation_findings" ("run_id", "type");`);

    this.addSql(`create table "refunds" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "payment_id" uuid not null, "amount_minor" int not null, "currency" varchar(3) not null, "reason" text not null, "status" text check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED')) not null default 'PENDING', "stripe_refund_id" text null, "requested_by" text not null, "failure_message" text null, "completed_at" timestamptz null, constraint "refunds_pkey" primary key ("id"));`);
    this.addSql(`alter table "refunds" add constraint "refunds_stripe_refund_id_unique" unique ("stripe_refund_id");`);
    this.addSql(`create index "refunds_pending" on "refunds" ("payment_id") where "status" = 'PENDING';`);
    this.addSql(`create index "refunds_payment_id_created_at_index" on "refunds" ("payment_id", "created_at");`);

    this.addSql(`alter table "reconciliation_findings" add constraint "reconciliation_findings_run_id_foreign" foreign key ("run_id") references "reconciliation_runs" ("id") on update cascade;`);

    this.addSql(`alter table "refunds" add constraint "refunds_payment_id_foreign" foreign key ("payment_id") references "payments" ("id") on update cascade;`);

    this.addSql(`create index "audit_entries_subject_id_created_at_index" on "audit_entries" ("subject_id", "created_at");`);

    this.addSql(`alter table "payments" add column "capture_attempts" int not null default 0, add column "capture_next_attempt_at" timestamptz null, add column "capture_last_error" text null;`);
    this.addSql(`create index "payments_capture_due" on "payments" ("capture_next_attempt_at") where "status" = 'AUTHORIZED' and "capture_mode" = 'MANUAL' and "delivery_status" = 'DELIVERED';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "reconciliation_findings" drop constraint "reconciliation_findings_run_id_foreign";`);

    this.addSql(`drop table if exists "payouts" cascade;`);

    this.addSql(`drop table if exists "reconciliation_runs" cascade;`);

    this.addSql(`drop table if exists "reconciliation_findings" cascade;`);

    this.addSql(`drop table if exists "refunds" cascade;`);

    this.addSql(`drop index "audit_entries_subject_id_created_at_index";`);

    this.addSql(`drop index "payments_capture_due";`);
    this.addSql(`alter table "payments" drop column "capture_attempts", drop column "capture_next_attempt_at", drop column "capture_last_error";`);
  }

}
