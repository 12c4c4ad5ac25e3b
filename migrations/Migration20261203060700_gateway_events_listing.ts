import { Migration } from '@mikro-orm/migrations';

/** inboundEvents: the inbox newest first (keyset on created_at, id), and its failed events alone. */
export class Migration20261203060700_gateway_events_listing extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "gateway_events_created_at_id_index" on "gateway_events" ("created_at", "id");`);
    this.addSql(`create index "gateway_events_failed" on "gateway_events" ("created_at", "id") where "processed_at" is null and "last_error" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "gateway_events_failed";`);
    this.addSql(`drop index "gateway_events_created_at_id_index";`);
  }

}
