import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { startEmbeddedPostgres } from '../../src/platform/database/embedded';
import { migrateDatabase } from '../../src/app/migrate';
import { adminQuery, DATABASE_PREFIX, TEMPLATE_PREFIX, withDatabase } from './database';

/** What teardown needs. Jest runs globalSetup and globalTeardown in its parent process: globalThis carries it. */
interface TestRun {
  serverUrl: string;
  template: string;
  stopServer(): Promise<void>;
}

const holder = globalThis as typeof globalThis & { recoupTestRun?: TestRun };

/**
 * One PostgreSQL server for the run (DATABASE_URL, or a throw-away embedded one) and one template
 * database migrated once; each test file clones it (test/support/database.ts) in milliseconds.
 */
export default async function globalSetup(): Promise<void> {
  const server = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: async () => {} }
    : await startEmbeddedPostgres({ dataDir: os.tmpdir(), persistent: false });
  const run: TestRun = {
    serverUrl: server.url,
    template: `${TEMPLATE_PREFIX}${randomBytes(4).toString('hex')}`,
    stopServer: server.stop,
  };
  holder.recoupTestRun = run;
  try {
    await adminQuery(run.serverUrl, `CREATE DATABASE ${run.template}`);
    await migrateDatabase(withDatabase(run.serverUrl, run.template));
    // MikroORM keeps entity metadata on globalThis; when jest runs a file in this same process,
    // the test realm must build its own or it trips over this realm's Maps (mikro-orm#3783).
    delete (globalThis as Record<string, unknown>)['mikro-orm-metadata'];
    // A single stray connection to the template would make every clone fail, so allow none.
    await adminQuery(run.serverUrl, `ALTER DATABASE ${run.template} WITH ALLOW_CONNECTIONS false`);
  } catch (err) {
    // Jest skips globalTeardown when globalSetup throws.
    await endTestRun();
    throw err;
  }
  // Workers start after this returns and inherit the environment.
  process.env.RECOUP_TEST_SERVER_URL = run.serverUrl;
  process.env.RECOUP_TEST_TEMPLATE_DB = run.template;
}

/** Drops the template and every database cloned from it in this run, then stops the embedded server. */
export async function endTestRun(): Promise<void> {
  const run = holder.recoupTestRun;
  if (!run) return;
  holder.recoupTestRun = undefined;
  try {
    const runId = run.template.slice(TEMPLATE_PREFIX.length);
    const databases = await adminQuery<{ datname: string }>(
      run.serverUrl,
      'SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2)',
      [run.template, `${DATABASE_PREFIX}${runId}_`],
    );
    for (const { datname } of databases) {
      await adminQuery(run.serverUrl, `DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  } finally {
    await run.stopServer();
  }
}
