/** Where the data lives: PostgreSQL, or (development and tests only) an embedded one. */
import type { Reader } from './reader';

/** Unset outside production: main starts an embedded PostgreSQL. In production it is required. */
export function databaseUrl(r: Reader, production: boolean): string | undefined {
  const url = r.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  if (production && r.str('DATABASE_URL') === undefined) {
    r.problems.push('DATABASE_URL is required in production (the embedded PostgreSQL is for development and tests only)');
  }
  return url;
}
