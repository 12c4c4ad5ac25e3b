import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { MIGRATIONS } from '../../../migrations';
import { AGENDA_POSTGRES_TABLES } from '../jobs/scheduler.backend';

export type Orm = MikroORM;

/** Tables another library owns (Agenda's job store); the schema diff must never drop them. */
export const FOREIGN_TABLES = [...AGENDA_POSTGRES_TABLES];

/** The entities are the app's (src/app/entities.ts): the platform knows no feature's tables. */
export function ormOptions(databaseUrl: string, entities: NonNullable<Options['entities']>, poolMax = 20): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities,
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

export async function openOrm(databaseUrl: string, entities: NonNullable<Options['entities']>, poolMax?: number): Promise<Orm> {
  return MikroORM.init(ormOptions(databaseUrl, entities, poolMax));
}
