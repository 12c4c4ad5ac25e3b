import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 15, a second gateway: a plan names the gateway that takes its money (STRIPE unless said),
 * and a payment records it, with the order at that gateway (a Cashfree order id). Stripe rows keep
 * the defaults; constant defaults add the columns without rewriting the tables.
 */
export class Migration20261203064441_plan_gateway extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "plans" add column "gateway" text check ("gateway" in ('STRIPE', 'CASHFREE')) not null default 'STRIPE';`);

    this.addSql(`alter table "payments" add column "gateway" text check ("gateway" in ('STRIPE', 'CASHFREE')) not null default 'STRIPE', add column "gateway_order_id" text null;`);
    this.addSql(`alter table "payments" add constraint "payments_gateway_order_id_unique" unique ("gateway_order_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "payments" drop constraint "payments_gateway_order_id_unique";`);
    this.addSql(`alter table "payments" drop column "gateway", drop column "gateway_order_id";`);

    this.addSql(`alter table "plans" drop column "gateway";`);
  }

}
