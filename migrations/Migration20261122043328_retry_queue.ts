import { Migration } from '@mikro-orm/migrations';

export class Migration20261122043328_retry_queue extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "retry_jobs" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "payment_id" uuid not null, "customer_id" uuid not null, "origin" text check ("origin" in ('RENEWAL', 'QUEUED', 'CHARGE')) not null, "status" text check ("status" in ('QUEUED', 'PROCESSING', 'SUCCEEDED', 'EXHAUSTED', 'CANCELLED')) not null default 'QUEUED', "subscription_id" uuid null, "renewal_period_end" timestamptz null, "amount_minor" int not null, "currency" varchar(3) not null, "priority" int not null, "stripe_customer_id" text null, "stripe_payment_method_id" text null, "first_attempt_is_charge" boolean not null default false, "error_code" text null, "decline_code" text null, "advice_code" text null, "error_message" text null, "reason" text check ("reason" in ('HARD_DECLINE', 'INSUFFICIENT_FUNDS', 'NETWORK', 'PROCESSING_ERROR', 'AUTHENTICATION_REQUIRED', 'CARD_UPDATE_REQUIRED', 'RATE_LIMIT', 'SERVICE_UNAVAILABLE', 'UNKNOWN')) null, "attempts" int not null default 0, "max_attempts" int not null default 1, "next_attempt_at" timestamptz null, "deadline_at" timestamptz null, "lease_token" uuid null, "lease_expires_at" timestamptz null, "outcome" text null, "recovered" boolean not null default false, "finished_at" timestamptz null, "cancelled_by" text null, "customer_notified_at" timestamptz null, constraint "retry_jobs_pkey" primary key ("id"));`);
    this.addSql(`create index "retry_jobs_customer_id_index" on "retry_jobs" ("customer_id");`);
    this.addSql(`create index "retry_jobs_created_at_id_index" on "retry_jobs" ("created_at", "id");`);
    this.addSql(`create unique index "retry_jobs_one_per_renewal" on "retry_jobs" ("subscription_id", "renewal_period_end") where "renewal_period_end" is not null;`);
    this.addSql(`create index "retry_jobs_lease" on "retry_jobs" ("lease_expires_at") where "status" = 'PROCESSING';`);
    this.addSql(`create index "retry_jobs_due" on "retry_jobs" ("priority" desc, "next_attempt_at") where "status" = 'QUEUED';`);
    this.addSql(`create unique index "retry_jobs_one_open_per_payment" on "retry_jobs" ("payment_id") where "status" in ('QUEUED', 'PROCESSING');`);

    this.addSql(`create table "retry_attempts" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "job_id" uuid not null, "attempt" int not null, "idempotency_key" text not null, "stripe_payment_method_id" text null, "is_retry" boolean not null, "outcome" text check ("outcome" in ('IN_FLIGHT', 'SUCCEEDED', 'FAILED', 'UNKNOWN')) not null, "started_at" timestamptz not null, "finished_at" timestamptz null, "error_code" text null, "decline_code" text null, "advice_code" text null, "message" text null, "status_code" int null, "stripe_payment_intent_id" text null, constraint "retry_attempts_pkey" primary key ("id"));`);
    this.addSql(`create index "retry_attempts_card_budget" on "retry_attempts" ("stripe_payment_method_id", "started_at") where "is_retry";`);
    this.addSql(`alter table "retry_attempts" add constraint "retry_attempts_job_id_attempt_unique" unique ("job_id", "attempt");`);

    this.addSql(`alter table "retry_jobs" add constraint "retry_jobs_payment_id_foreign" foreign key ("payment_id") references "payments" ("id") on update cascade;`);
    this.addSql(`alter table "retry_jobs" add constraint "retry_jobs_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade;`);

    this.addSql(`alter table "retry_attempts" add constraint "retry_attempts_job_id_foreign" foreign key ("job_id") references "retry_jobs" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "retry_attempts" drop constraint "retry_attempts_job_id_foreign";`);

    this.addSql(`drop table if exists "retry_jobs" cascade;`);

    this.addSql(`drop table if exists "retry_attempts" cascade;`);
  }

}
