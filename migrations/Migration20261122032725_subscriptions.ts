import { Migration } from '@mikro-orm/migrations';

export class Migration20261122032725_subscriptions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "subscriptions" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "customer_id" uuid not null, "bundle_id" uuid not null, "status" text check ("status" in ('ACTIVE', 'PAST_DUE', 'LAPSED')) not null default 'ACTIVE', "current_period_start" timestamptz not null, "current_period_end" timestamptz not null, "auto_renew" boolean not null default false, "stripe_customer_id" text null, "stripe_payment_method_id" text null, "last_payment_id" uuid null, "is_test" boolean not null default false, "lapsed_at" timestamptz null, "access_removed_at" timestamptz null, "removal_error" text null, constraint "subscriptions_pkey" primary key ("id"));`);
    this.addSql(`create index "subscriptions_lapsed_pending_removal" on "subscriptions" ("lapsed_at") where "status" = 'LAPSED' and "access_removed_at" is null;`);
    this.addSql(`create index "subscriptions_active_by_end" on "subscriptions" ("current_period_end") where "status" in ('ACTIVE', 'PAST_DUE');`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_customer_id_bundle_id_unique" unique ("customer_id", "bundle_id");`);

    this.addSql(`alter table "subscriptions" add constraint "subscriptions_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade;`);
    this.addSql(`alter table "subscriptions" add constraint "subscriptions_bundle_id_foreign" foreign key ("bundle_id") references "bundles" ("id") on update cascade;`);

    this.addSql(`alter table "payments" add column "stripe_customer_id" text null, add column "stripe_payment_method_id" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "subscriptions" cascade;`);

    this.addSql(`alter table "payments" drop column "stripe_customer_id", drop column "stripe_payment_method_id";`);
  }

}
