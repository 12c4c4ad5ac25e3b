import { Migration } from '@mikro-orm/migrations';

export class Migration20261202150024_gateway_event_sanitized_paths extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "gateway_events" add column "sanitized_paths" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "gateway_events" drop column "sanitized_paths";`);
  }

}
