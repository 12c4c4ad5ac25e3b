import type { AgendaBackend } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { MongoBackend } from '@agendajs/mongo-backend';
import { MongoClient, type Db } from 'mongodb';
import { Pool } from 'pg';
import type { Logger } from '../observability/logger';

/**
 * Agenda's tables in the app's PostgreSQL database; the ORM's schema tooling must skip them. The
 * backend creates `agenda_logs` on connect even though job logging stays off (it stays empty).
 * Along with the jobs table come its indexes, a trigger and `update_agenda_jobs_updated_at()`.
 */
export const AGENDA_POSTGRES_TABLE = 'agenda_jobs';
export const AGENDA_POSTGRES_LOG_TABLE = 'agenda_logs';
export const AGENDA_POSTGRES_TABLES: readonly string[] = [AGENDA_POSTGRES_TABLE, AGENDA_POSTGRES_LOG_TABLE];
export const AGENDA_MONGO_COLLECTION = 'agendaJobs';

export type BackendConfig = { kind: 'postgres'; connectionString: string } | { kind: 'mongo'; url: string };

export interface SchedulerBackend {
  readonly kind: BackendConfig['kind'];
  /** What Agenda is given: connecting and closing stay with the scheduler. */
  readonly agendaBackend: AgendaBackend;
  connect(): Promise<void>;
  /** Rejects when the database does not answer within PING_TIMEOUT_MS. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const POOL_MAX = 5;
const CONNECT_TIMEOUT_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;
// Any fixed number; it only has to be the same for every instance.
const SCHEMA_LOCK_KEY = 7_318_204_611;

export function createBackend(config: BackendConfig, logger: Logger): SchedulerBackend {
  return config.kind === 'postgres' ? postgresBackend(config.connectionString, logger) : mongoBackend(config.url);
}

function postgresBackend(connectionString: string, logger: Logger): SchedulerBackend {
  // Our own pool (not a connection string) so stop() can end it: Agenda.stop() leaves the pool,
  // and with it the LISTEN connection, open when it was never started.
  const pool = new Pool({
    connectionString,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'recoup-scheduler',
  });
  // An idle client whose server went away emits 'error' on the pool; unheard, it kills the process.
  pool.on('error', (err) => logger.warn({ err }, 'scheduler database connection lost'));
  const inner = new PostgresBackend({ pool, tableName: AGENDA_POSTGRES_TABLE, logTableName: AGENDA_POSTGRES_LOG_TABLE });
  return {
    kind: 'postgres',
    agendaBackend: deferConnect(inner),
    connect: () => withSchemaLock(pool, () => inner.connect()),
    ping: () => withTimeout(pool.query('SELECT 1'), PING_TIMEOUT_MS),
    close: () => pool.end(),
  };
}

/**
 * Agenda's connect creates the table, indexes and trigger with plain DDL; two instances booting at
 * once can collide on it ("tuple concurrently updated"), so the DDL runs under an advisory lock.
 */
async function withSchemaLock(pool: Pool, connect: () => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
    try {
      await connect();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

function mongoBackend(url: string): SchedulerBackend {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: CONNECT_TIMEOUT_MS, appName: 'recoup-scheduler' });
  const db = client.db();
  const inner = new MongoBackend({ mongo: db, collection: AGENDA_MONGO_COLLECTION });
  return {
    kind: 'mongo',
    agendaBackend: deferConnect(inner),
    connect: async () => {
      await inner.connect();
      await ensureOneSchedulePerName(db);
    },
    ping: () => withTimeout(db.command({ ping: 1 }), PING_TIMEOUT_MS),
    close: () => client.close(),
  };
}

/**
 * Postgres has a unique index on repeating ('single') jobs by name; the Mongo backend upserts
 * without one, so two instances starting together could each insert a schedule.
 */
async function ensureOneSchedulePerName(db: Db): Promise<void> {
  await db
    .collection(AGENDA_MONGO_COLLECTION)
    .createIndex({ name: 1 }, { name: 'singleJobNameUnique', unique: true, partialFilterExpression: { type: 'single' } });
}

/**
 * Agenda's constructor calls `backend.connect()` without handling a rejection (an unreachable
 * database would crash the process), and `stop()` closes only what it opened. So Agenda gets a
 * backend whose connect and disconnect do nothing; the scheduler does both itself.
 */
function deferConnect(inner: AgendaBackend): AgendaBackend {
  return {
    name: inner.name,
    get repository() {
      return inner.repository;
    },
    get notificationChannel() {
      return inner.notificationChannel;
    },
    get logger() {
      return inner.logger;
    },
    ownsConnection: false,
    connect: async () => undefined,
    disconnect: async () => undefined,
  };
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
