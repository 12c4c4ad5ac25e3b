import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { MIGRATIONS } from '../../../migrations';
import { AGENDA_POSTGRES_TABLES } from '../jobs/scheduler.backend';
import { ENTITIES } from './entities';

export type Orm = MikroORM;

/** Tables another library owns (Agenda's job store); the schema diff must never drop them. */
export const FOREIGN_TABLES = [...AGENDA_POSTGRES_TABLES];

export function ormOptions(databaseUrl: string, poolMax = 20): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    forceUtcTimezone: true,
    // The global EntityManager throws: every request and job forks its own.
    allowGlobalContext: false,
    pool: { min: 0, max: poolMax },
    schemaGenerator: { skipTables: FOREIGN_TABLES },
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: 'migrations',
      pathTs: 'migrations',
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
    debug: false,
  });
}

export async function openOrm(databaseUrl: string, poolMax?: number): Promise<Orm> {
  return MikroORM.init(ormOptions(databaseUrl, poolMax));
}
