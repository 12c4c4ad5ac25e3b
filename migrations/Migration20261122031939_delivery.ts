import { Migration } from '@mikro-orm/migrations';

export class Migration20261122031939_delivery extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "invite_links" ("id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "payment_id" uuid not null, "channel_id" uuid not null, "telegram_invite_link" text not null, "name" text not null, "member_limit" int not null default 1, "creates_join_request" boolean not null default false, "expires_at" timestamptz not null, "used_by_telegram_user_id" text null, "used_at" timestamptz null, "revoked_at" timestamptz null, constraint "invite_links_pkey" primary key ("id"));`);
    this.addSql(`create index "invite_links_telegram_invite_link_index" on "invite_links" ("telegram_invite_link");`);
    this.addSql(`create unique index "invite_links_live_per_payment_channel" on "invite_links" ("payment_id", "channel_id") where "revoked_at" is null;`);

    this.addSql(`alter table "invite_links" add constraint "invite_links_payment_id_foreign" foreign key ("payment_id") references "payments" ("id") on update cascade;`);
    this.addSql(`alter table "invite_links" add constraint "invite_links_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade;`);

    this.addSql(`alter table "payments" add column "delivery_status" text check ("delivery_status" in ('PENDING', 'IN_PROGRESS', 'AWAITING_CUSTOMER', 'DELIVERED', 'FAILED')) null, add column "delivery_attempts" int not null default 0, add column "delivery_last_attempt_at" timestamptz null, add column "delivery_next_attempt_at" timestamptz null, add column "delivery_failure_reason" text null, add column "delivery_recovered" boolean not null default false, add column "delivered_at" timestamptz null, add column "paid_at" timestamptz null;`);
    this.addSql(`create index "payments_delivery_attention" on "payments" ("delivery_status", "created_at") where "delivery_status" in ('FAILED', 'AWAITING_CUSTOMER');`);
    this.addSql(`create index "payments_delivery_due" on "payments" ("delivery_next_attempt_at") where "delivery_status" in ('PENDING', 'IN_PROGRESS');`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "invite_links" cascade;`);

    this.addSql(`drop index "payments_delivery_attention";`);
    this.addSql(`drop index "payments_delivery_due";`);
    this.addSql(`alter table "payments" drop column "delivery_status", drop column "delivery_attempts", drop column "delivery_last_attempt_at", drop column "delivery_next_attempt_at", drop column "delivery_failure_reason", drop column "delivery_recovered", drop column "delivered_at", drop column "paid_at";`);
  }

}
