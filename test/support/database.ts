import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

/**
 * A database per test file, cloned from the template that global-setup migrated once. Names carry
 * the run id so global-teardown drops exactly this run's databases on a shared server.
 */
export const TEMPLATE_PREFIX = 'recoup_tpl_';
export const DATABASE_PREFIX = 'recoup_t_';
const MIGRATIONS_TABLE = 'mikro_orm_migrations';
const OBJECT_IN_USE = '55006';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = requiredEnv('RECOUP_TEST_SERVER_URL');
  const template = requiredEnv('RECOUP_TEST_TEMPLATE_DB');
  const runId = template.slice(TEMPLATE_PREFIX.length);
  const name = `${DATABASE_PREFIX}${runId}_${randomBytes(4).toString('hex')}`;
  await cloneTemplate(serverUrl, name, template);
  return {
    url: withDatabase(serverUrl, name),
    name,
    drop: async () => {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Empties every table but the migrations ledger; cheaper than a new database between tests. */
export async function truncateAll(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
        WHERE schemaname = 'public' AND tablename <> $1`,
      [MIGRATIONS_TABLE],
    );
    if (rows.length === 0) return;
    const truncate = `TRUNCATE ${rows.map((row) => row.name).join(', ')} RESTART IDENTITY CASCADE`;
    // With the scheduler running (startJobs), a job's transaction can hold one table while TRUNCATE
    // holds another: PostgreSQL breaks the deadlock by failing one side. TRUNCATE again.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(truncate);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  } finally {
    await client.end();
  }
}

// PostgreSQL cannot copy a template while anyone is connected to it. It already waits up to 5 s for
// such sessions to end before it fails with 55006; a session closing just then deserves one more go.
async function cloneTemplate(serverUrl: string, name: string, template: string): Promise<void> {
  const sql = `CREATE DATABASE ${name} TEMPLATE ${template}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(serverUrl, sql);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt === 3) throw err;
      await sleep(100);
    }
  }
}

/** Runs one statement on the server URL's own database (CREATE/DROP DATABASE cannot run inside the target). */
export async function adminQuery<T extends object>(serverUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest's globalSetup`);
  return value;
}
