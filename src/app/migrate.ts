import { openAppOrm } from './entities';

/** Applies every pending migration in one transaction. Safe to run on every start. */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const orm = await openAppOrm(databaseUrl, 2);
  try {
    await orm.getMigrator().up();
  } finally {
    await orm.close(true);
  }
}
