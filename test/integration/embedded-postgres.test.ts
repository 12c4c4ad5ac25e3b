import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/platform/database/embedded';

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number.parseInt(await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8'), 10);
}

async function waitUntilGone(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(20);
  }
}

/** As root the server runs as `postgres`. */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

const systemId = `SELECT system_identifier::text AS id FROM pg_control_system()`;

describe('embedded PostgreSQL', () => {
  let parent: string;
  let running: EmbeddedPostgres[] = [];

  const start = async (dataDir: string) => {
    const server = await startEmbeddedPostgres({ dataDir, persistent: true });
    running.push(server);
    return server;
  };

  beforeAll(async () => {
    parent = await fs.mkdtemp(path.join(os.tmpdir(), 'recoup-embedded-test-'));
    // As root the server runs as `postgres`, which must be able to enter the folder.
    await fs.chmod(parent, 0o755);
  });

  afterEach(async () => {
    await Promise.all(running.map((server) => server.stop()));
    running = [];
  });

  afterAll(() => fs.rm(parent, { recursive: true, force: true }));

  it('keeps rows and its port across a restart without initialising again', async () => {
    const dataDir = path.join(parent, 'restart');
    const first = await start(dataDir);
    await query(first.url, `CREATE TABLE note (body text); INSERT INTO note VALUES ('kept')`);
    const [before] = await query<{ id: string }>(first.url, systemId);
    await first.stop();

    const second = await start(dataDir);
    expect(await query(second.url, 'SELECT body FROM note')).toEqual([{ body: 'kept' }]);
    // initdb would mint a new system identifier.
    expect(await query(second.url, systemId)).toEqual([before]);
    expect(new URL(second.url).port).toBe(new URL(first.url).port);
  });

  it('refuses a second server on a folder in use, and starts again after a kill -9', async () => {
    const dataDir = path.join(parent, 'killed');
    const first = await start(dataDir);
    await query(first.url, `CREATE TABLE note (body text); INSERT INTO note VALUES ('survived')`);
    await expect(startEmbeddedPostgres({ dataDir, persistent: true })).rejects.toThrow(/already runs/);

    const pid = await postmasterPid(dataDir);
    process.kill(pid, 'SIGKILL');
    await waitUntilGone(pid);
    // Pids get reused: make the stale lock name a live, unrelated process of the server's user,
    // which PostgreSQL alone takes for a running server.
    const impostor = spawn('sleep', ['30'], serverUser());
    const lock = path.join(dataDir, 'postmaster.pid');
    const lines = (await fs.readFile(lock, 'utf8')).split('\n');
    await fs.writeFile(lock, [String(impostor.pid), ...lines.slice(1)].join('\n'));
    try {
      await first.stop(); // returns although the server is already gone
      const second = await start(dataDir);
      expect(await query(second.url, 'SELECT body FROM note')).toEqual([{ body: 'survived' }]);
    } finally {
      impostor.kill();
    }
  });
});
