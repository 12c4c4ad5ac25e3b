import { Migration } from '@mikro-orm/migrations';

export class Migration20261122030432_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "alerts" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "type" text not null, "severity" text check ("severity" in ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO')) not null, "title" text not null, "detail" text not null, "subject_type" text null, "subject_id" text null, "fingerprint" text not null, "occurrences" int not null default 1, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, "resolved_at" timestamptz null, "resolved_by" text null, "resolution_note" text null, constraint "alerts_pkey" primary key ("id"));`);
    this.addSql(`create index "alerts_created_at_id_index" on "alerts" ("created_at", "id");`);
    this.addSql(`create index "alerts_open_by_severity" on "alerts" ("severity") where "resolved_at" is null;`);
    this.addSql(`create unique index "alerts_open_fingerprint" on "alerts" ("fingerprint") where "resolved_at" is null;`);

    this.addSql(`create table "audit_entries" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "actor" text not null, "action" text not null, "subject_type" text not null, "subject_id" text not null, "before" jsonb null, "after" jsonb null, "note" text null, "request_id" text null, "at" timestamptz not null, constraint "audit_entries_pkey" primary key ("id"));`);
    this.addSql(`create index "audit_entries_subject_type_subject_id_at_index" on "audit_entries" ("subject_type", "subject_id", "at");`);

    this.addSql(`create table "bundles" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "name" text not null, "description" text null, "active" boolean not null default true, constraint "bundles_pkey" primary key ("id"));`);

    this.addSql(`create table "channels" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "telegram_chat_id" text not null, "title" text not null, "requires_approval" boolean not null default false, constraint "channels_pkey" primary key ("id"));`);
    this.addSql(`alter table "channels" add constraint "channels_telegram_chat_id_unique" unique ("telegram_chat_id");`);

    this.addSql(`create table "bundle_channels" ("bundle_id" uuid not null, "channel_id" uuid not null, constraint "bundle_channels_pkey" primary key ("bundle_id", "channel_id"));`);

    this.addSql(`create table "customers" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "name" text null, "email" text null, "phone" text null, "telegram_user_id" text null, "anonymized_at" timestamptz null, constraint "customers_pkey" primary key ("id"));`);
    this.addSql(`create index "customers_email_index" on "customers" ("email");`);
    this.addSql(`create index "customers_phone_index" on "customers" ("phone");`);
    this.addSql(`create index "customers_telegram_user_id_index" on "customers" ("telegram_user_id");`);

    this.addSql(`create table "gateway_events" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "gateway" text not null, "event_id" text not null, "type" text not null, "payload" jsonb not null, "received_at" timestamptz not null, "processed_at" timestamptz null, "outcome" text null, "attempts" int not null default 0, "last_error" text null, "next_attempt_at" timestamptz null, constraint "gateway_events_pkey" primary key ("id"));`);
    this.addSql(`create index "gateway_events_unprocessed" on "gateway_events" ("next_attempt_at") where "processed_at" is null;`);
    this.addSql(`alter table "gateway_events" add constraint "gateway_events_gateway_event_id_unique" unique ("gateway", "event_id");`);

    this.addSql(`create table "plans" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "bundle_id" uuid not null, "name" text not null, "amount_minor" int not null, "currency" varchar(3) not null, "duration_days" int not null, "capture_mode" text check ("capture_mode" in ('AUTOMATIC', 'MANUAL')) not null default 'AUTOMATIC', "active" boolean not null default true, constraint "plans_pkey" primary key ("id"));`);
    this.addSql(`create index "plans_bundle_id_index" on "plans" ("bundle_id");`);

    this.addSql(`create table "payments" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "customer_id" uuid not null, "plan_id" uuid not null, "bundle_id" uuid not null, "amount_minor" int not null, "currency" varchar(3) not null, "status" text check ("status" in ('PENDING', 'AUTHORIZED', 'SUCCEEDED', 'FAILED', 'EXPIRED', 'CANCELLED', 'REFUNDED', 'DISPUTED')) not null default 'PENDING', "capture_mode" text check ("capture_mode" in ('AUTOMATIC', 'MANUAL')) not null default 'AUTOMATIC', "stripe_checkout_session_id" text null, "stripe_payment_intent_id" text null, "checkout_url" text null, "checkout_expires_at" timestamptz null, "failure_code" text null, "failure_message" text null, "refunded_minor" int not null default 0, "status_changed_at" timestamptz not null default now(), "authorized_at" timestamptz null, "succeeded_at" timestamptz null, "failed_at" timestamptz null, "expired_at" timestamptz null, "cancelled_at" timestamptz null, "refunded_at" timestamptz null, "disputed_at" timestamptz null, constraint "payments_pkey" primary key ("id"));`);
    this.addSql(`create index "payments_customer_id_index" on "payments" ("customer_id");`);
    this.addSql(`alter table "payments" add constraint "payments_stripe_checkout_session_id_unique" unique ("stripe_checkout_session_id");`);
    this.addSql(`alter table "payments" add constraint "payments_stripe_payment_intent_id_unique" unique ("stripe_payment_intent_id");`);
    this.addSql(`create index "payments_created_at_id_index" on "payments" ("created_at", "id");`);
    this.addSql(`create index "payments_customer_bundle_open" on "payments" ("customer_id", "bundle_id") where "status" in ('PENDING', 'FAILED');`);
    this.addSql(`create index "payments_open_by_age" on "payments" ("created_at") where "status" in ('PENDING', 'FAILED');`);

    this.addSql(`alter table "bundle_channels" add constraint "bundle_channels_bundle_id_foreign" foreign key ("bundle_id") references "bundles" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "bundle_channels" add constraint "bundle_channels_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "plans" add constraint "plans_bundle_id_foreign" foreign key ("bundle_id") references "bundles" ("id") on update cascade;`);

    this.addSql(`alter table "payments" add constraint "payments_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade;`);
    this.addSql(`alter table "payments" add constraint "payments_plan_id_foreign" foreign key ("plan_id") references "plans" ("id") on update cascade;`);
    this.addSql(`alter table "payments" add constraint "payments_bundle_id_foreign" foreign key ("bundle_id") references "bundles" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "bundle_channels" drop constraint "bundle_channels_bundle_id_foreign";`);

    this.addSql(`alter table "plans" drop constraint "plans_bundle_id_foreign";`);

    this.addSql(`alter table "payments" drop constraint "payments_bundle_id_foreign";`);

    this.addSql(`alter table "bundle_channels" drop constraint "bundle_channels_channel_id_foreign";`);

    this.addSql(`alter table "payments" drop constraint "payments_customer_id_foreign";`);

    this.addSql(`alter table "payments" drop constraint "payments_plan_id_foreign";`);

    this.addSql(`drop table if exists "alerts" cascade;`);

    this.addSql(`drop table if exists "audit_entries" cascade;`);

    this.addSql(`drop table if exists "bundles" cascade;`);

    this.addSql(`drop table if exists "channels" cascade;`);

    this.addSql(`drop table if exists "bundle_channels" cascade;`);

    this.addSql(`drop table if exists "customers" cascade;`);

    this.addSql(`drop table if exists "gateway_events" cascade;`);

    this.addSql(`drop table if exists "plans" cascade;`);

    this.addSql(`drop table if exists "payments" cascade;`);
  }

}
