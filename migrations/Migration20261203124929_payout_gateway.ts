import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 15: Cashfree's settlements are recorded as payouts too; a payout names its gateway.
 * Stripe's rows keep the constant default, which adds the column without rewriting the table.
 */
export class Migration20261203124929_payout_gateway extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "payouts" add column "gateway" text check ("gateway" in ('STRIPE', 'CASHFREE')) not null default 'STRIPE';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "payouts" drop column "gateway";`);
  }

}
