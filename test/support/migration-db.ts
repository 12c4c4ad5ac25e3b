import { randomBytes } from 'node:crypto';
import { MIGRATIONS } from '../../migrations';
import { openAppOrm } from '../../src/app/entities';
import { adminQuery, DATABASE_PREFIX, TEMPLATE_PREFIX, withDatabase } from './database';

/** For the tests of one migration: the databases they build step by step, and the migrator. */
type Migrator = ReturnType<Awaited<ReturnType<typeof openAppOrm>>['getMigrator']>;

/** The name of the migration just before this one: the state a migration test seeds data in. */
export function migrationBefore(name: string): string {
  const index = MIGRATIONS.findIndex((m) => m.name === name);
  if (index < 1) throw new Error(`${name} is not a migration with one before it`);
  return MIGRATIONS[index - 1].name;
}

/** A database with nothing in it, named for this test run (so the run's clean-up finds it). */
export async function emptyDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = process.env.RECOUP_TEST_SERVER_URL!;
  const runId = process.env.RECOUP_TEST_TEMPLATE_DB!.slice(TEMPLATE_PREFIX.length);
  const name = `${DATABASE_PREFIX}${runId}_mig${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  return {
    url: withDatabase(serverUrl, name),
    drop: async () => {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** The app's migrator on that database, closed after the work. */
export async function withMigrator<T>(url: string, work: (migrator: Migrator) => Promise<T>): Promise<T> {
  const orm = await openAppOrm(url, 2);
  try {
    return await work(orm.getMigrator());
  } finally {
    await orm.close(true);
  }
}
