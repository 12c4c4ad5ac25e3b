import { Migration } from '@mikro-orm/migrations';

/**
 * KYC + e-sign before checkout: plans.requires_verification and terms_version, and one
 * verifications row per session (the current one per customer by a partial unique index; the
 * dashboard's "blocked on verification" list through verifications_awaiting).
 */
export class Migration20261203065410_verification extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "verifications" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "customer_id" uuid not null, "plan_id" uuid null, "provider" text not null, "provider_ref" text null, "url" text null, "status" text check ("status" in ('PENDING', 'VERIFIED', 'REJECTED')) not null default 'PENDING', "reason" text null, "current" boolean not null default true, "requested_terms_version" text null, "kyc_required" boolean not null default true, "kyc_done" boolean not null default false, "esign_done" boolean not null default false, "pan_last4" varchar(4) null, "kyc_name" text null, "name_matched" boolean null, "terms_version" text null, "signed_at" timestamptz null, "document_sha256" varchar(64) null, "signed_document" bytea null, "verdict_at" timestamptz null, "provider_event_at" timestamptz null, "overridden_by" text null, "overridden_at" timestamptz null, "override_note" text null, "payment_blocked_at" timestamptz null, constraint "verifications_pkey" primary key ("id"));`);
    this.addSql(`create index "verifications_plan_id_index" on "verifications" ("plan_id");`);
    this.addSql(`alter table "verifications" add constraint "verifications_provider_ref_unique" unique ("provider_ref");`);
    this.addSql(`create index "verifications_awaiting" on "verifications" ("created_at", "id") where "current" and "status" <> 'VERIFIED' and "payment_blocked_at" is not null;`);
    this.addSql(`create unique index "verifications_current" on "verifications" ("customer_id") where "current";`);
    this.addSql(`create index "verifications_customer_id_status_index" on "verifications" ("customer_id", "status");`);

    this.addSql(`alter table "verifications" add constraint "verifications_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade;`);
    this.addSql(`alter table "verifications" add constraint "verifications_plan_id_foreign" foreign key ("plan_id") references "plans" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "plans" add column "requires_verification" boolean not null default false, add column "terms_version" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "verifications" cascade;`);

    this.addSql(`alter table "plans" drop column "requires_verification", drop column "terms_version";`);
  }

}
