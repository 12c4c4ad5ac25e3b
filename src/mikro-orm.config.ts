/**
 * For the MikroORM CLI (`npx mikro-orm debug`, `schema:update --dump`, …): the app's own ORM options
 * (src/platform/database/orm.ts: the same entity list, migrations and settings) on the DATABASE_URL that
 * loadConfig reads. The CLI loads the built file, dist/src/mikro-orm.config.js ("mikro-orm".configPaths
 * in package.json), so run `npm run build` first; there is no ts-node here.
 */
import 'reflect-metadata';
import { loadConfig } from './platform/config';
import { ENTITIES } from './app/entities';
import { ormOptions } from './platform/database/orm';

const config = loadConfig();
if (!config.databaseUrl) {
  throw new Error('The MikroORM CLI needs DATABASE_URL (the embedded PostgreSQL runs only inside npm start)');
}

export default ormOptions(config.databaseUrl, ENTITIES, config.databasePoolMax);
