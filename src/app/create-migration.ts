/**
 * `npm run migration:create -- <name>`: diffs the entities against a database with every
 * migration applied, writes migrations/Migration<timestamp>_<name>.ts, and rewrites
 * migrations/index.ts so the new file is in the list the app runs.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../platform/config';
import { startEmbeddedPostgres } from '../platform/database/embedded';
import { migrateDatabase } from './migrate';
import { openAppOrm } from './entities';

const MIGRATIONS_DIR = join(process.cwd(), 'migrations');

function writeIndex(): void {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^Migration\d+.*\.ts$/.test(f))
    .sort();
  const names = files.map((f) => f.replace(/\.ts$/, ''));
  const source = [
    "import type { MigrationObject } from '@mikro-orm/core';",
    ...names.map((n) => `import { ${n} } from './${n}';`),
    '',
    '/** Every migration, in order. `npm run migration:create` rewrites this file. */',
    'export const MIGRATIONS: MigrationObject[] = [',
    ...names.map((n) => `  { name: '${n}', class: ${n} },`),
    '];',
    '',
  ].join('\n');
  writeFileSync(join(MIGRATIONS_DIR, 'index.ts'), source);
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: npm run migration:create -- <snake_case_name> (it becomes part of a class name)');
  const config = loadConfig();
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.embeddedDataDir, persistent: true });
  const url = config.databaseUrl ?? embedded!.url;
  try {
    await migrateDatabase(url);
    const orm = await openAppOrm(url, 2);
    try {
      const result = await orm.getMigrator().createMigration(MIGRATIONS_DIR, false, false, name);
      if (!result.fileName) console.log('No schema changes: nothing written.');
      else console.log(`Wrote migrations/${result.fileName}`);
    } finally {
      await orm.close(true);
    }
    writeIndex();
  } finally {
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
