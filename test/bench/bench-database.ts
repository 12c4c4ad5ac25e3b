import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { startEmbeddedPostgres } from '../../src/platform/database/embedded';
import { adminQuery, withDatabase } from '../support/database';

export type Stop = () => Promise<void>;

/** A fresh database on DATABASE_URL's server, or on a throw-away embedded one; stop() removes it. */
export async function benchDatabase(): Promise<{ url: string; stop: Stop }> {
  const server = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: async () => {} }
    : await startEmbeddedPostgres({ dataDir: os.tmpdir(), persistent: false });
  const name = `recoup_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(server.url, `CREATE DATABASE ${name}`);
  const stop = async () => {
    await adminQuery(server.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(server.stop);
  };
  return { url: withDatabase(server.url, name), stop };
}

/** Runs a bench's main: its answer is the exit code; a throw is printed and exits 1. */
export function runBench(main: () => Promise<number>): void {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
