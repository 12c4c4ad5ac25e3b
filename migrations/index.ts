import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122030432_initial } from './Migration20261122030432_initial';
import { Migration20261122031939_delivery } from './Migration20261122031939_delivery';
import { Migration20261122032513_pending_payments } from './Migration20261122032513_pending_payments';

/** Every migration, in order. `npm run migration:create` rewrites this file. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261122030432_initial', class: Migration20261122030432_initial },
  { name: 'Migration20261122031939_delivery', class: Migration20261122031939_delivery },
  { name: 'Migration20261122032513_pending_payments', class: Migration20261122032513_pending_payments },
];
