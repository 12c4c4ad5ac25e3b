import { Migration } from '@mikro-orm/migrations';

export class Migration20261122033722_access_links_email extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "telegram_binding_tokens" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "customer_id" uuid not null, "token_hash" text not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "used_by_telegram_user_id" text null, constraint "telegram_binding_tokens_pkey" primary key ("id"));`);
    this.addSql(`create index "telegram_binding_tokens_customer_id_index" on "telegram_binding_tokens" ("customer_id");`);
    this.addSql(`alter table "telegram_binding_tokens" add constraint "telegram_binding_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "telegram_outbox" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "kind" text not null, "params" jsonb not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "last_error" text null, constraint "telegram_outbox_pkey" primary key ("id"));`);
    this.addSql(`create index "telegram_outbox_next_attempt_at_index" on "telegram_outbox" ("next_attempt_at");`);

    this.addSql(`alter table "telegram_binding_tokens" add constraint "telegram_binding_tokens_customer_id_foreign" foreign key ("customer_id") references "customers" ("id") on update cascade;`);

    this.addSql(`alter table "invite_links" drop constraint "invite_links_payment_id_foreign";`);

    this.addSql(`alter table "alerts" add column "notify_status" text null, add column "notify_attempts" int not null default 0, add column "notify_next_at" timestamptz null, add column "notify_error" text null;`);
    this.addSql(`create index "alerts_notify_due" on "alerts" ("notify_next_at") where "notify_status" = 'PENDING';`);

    this.addSql(`alter table "payments" add column "kind" text check ("kind" in ('CHECKOUT', 'RENEWAL', 'OFF_SESSION')) not null default 'CHECKOUT', add column "delivery_email_claimed_at" timestamptz null, add column "delivery_emailed_at" timestamptz null;`);

    this.addSql(`alter table "invite_links" add column "is_test" boolean not null default false, add column "access_ends_at" timestamptz null, add column "access_removed_at" timestamptz null;`);
    this.addSql(`alter table "invite_links" alter column "payment_id" drop default;`);
    this.addSql(`alter table "invite_links" alter column "payment_id" type uuid using ("payment_id"::text::uuid);`);
    this.addSql(`alter table "invite_links" alter column "payment_id" drop not null;`);
    this.addSql(`alter table "invite_links" add constraint "invite_links_payment_id_foreign" foreign key ("payment_id") references "payments" ("id") on update cascade on delete set null;`);
    this.addSql(`create index "invite_links_test_access_due" on "invite_links" ("access_ends_at") where "is_test" and "access_removed_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "telegram_binding_tokens" cascade;`);

    this.addSql(`drop table if exists "telegram_outbox" cascade;`);

    this.addSql(`alter table "invite_links" drop constraint "invite_links_payment_id_foreign";`);

    this.addSql(`drop index "alerts_notify_due";`);
    this.addSql(`alter table "alerts" drop column "notify_status", drop column "notify_attempts", drop column "notify_next_at", drop column "notify_error";`);

    this.addSql(`drop index "invite_links_test_access_due";`);
    this.addSql(`alter table "invite_links" drop column "is_test", drop column "access_ends_at", drop column "access_removed_at";`);

    this.addSql(`alter table "invite_links" alter column "payment_id" drop default;`);
    this.addSql(`alter table "invite_links" alter column "payment_id" type uuid using ("payment_id"::text::uuid);`);
    this.addSql(`alter table "invite_links" alter column "payment_id" set not null;`);
    this.addSql(`alter table "invite_links" add constraint "invite_links_payment_id_foreign" foreign key ("payment_id") references "payments" ("id") on update cascade on delete no action;`);

    this.addSql(`alter table "payments" drop column "kind", drop column "delivery_email_claimed_at", drop column "delivery_emailed_at";`);
  }

}
