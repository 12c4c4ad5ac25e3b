/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
import { loadConfig } from '../platform/config';
import { startEmbeddedPostgres } from '../platform/database/embedded';
import { migrateDatabase } from './migrate';

async function main(): Promise<void> {
  const config = loadConfig();
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.embeddedDataDir, persistent: true });
  try {
    await migrateDatabase(config.databaseUrl ?? embedded!.url);
    console.log('Migrations applied.');
  } finally {
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
