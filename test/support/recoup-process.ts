import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, signToken, type GqlResult, type Harness } from './harness';

/** Recoup as a real process (the built dist/src/main.js), for the tests that kill it with SIGKILL. */
const ROOT = join(__dirname, '../..');
const MAIN = join(ROOT, 'dist/src/main.js');

export interface RecoupProcess {
  process: ChildProcess;
  url: string;
  /** The last lines it wrote, for the message when it does not come up. */
  output: string[];
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });

/**
 * tsc emits even when it reports type errors; those are `npm run typecheck`'s business, and an
 * unrelated one elsewhere in the tree should not stop a test from exercising crash recovery.
 */
export async function buildRecoup(): Promise<void> {
  const started = Date.now();
  try {
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? '');
    if (!output.includes('error TS') || statSync(MAIN).mtimeMs < started) throw error;
    console.warn(`tsc reported type errors; running the emitted build anyway:\n${output.split('\n').slice(0, 10).join('\n')}`);
  }
}

/** Starts Recoup on a free port with this environment (PORT and HOST are set here) and waits for /readyz. */
export async function startRecoupProcess(env: Record<string, string>): Promise<RecoupProcess> {
  const port = await freePort();
  const child: RecoupProcess = {
    process: spawn(process.execPath, [MAIN], { cwd: ROOT, env: { PATH: process.env.PATH, NODE_ENV: 'test', ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] }),
    url: `http://127.0.0.1:${port}`,
    output: [],
  };
  // Should jest's worker die before afterAll, take the child along rather than leave it running.
  process.once('exit', () => child.process.kill('SIGKILL'));
  const keep = (chunk: Buffer) => child.output.push(...chunk.toString().split('\n').filter(Boolean).slice(-50));
  child.process.stdout!.on('data', keep);
  child.process.stderr!.on('data', keep);
  await eventually(async () => child.process.exitCode === null && (await fetch(`${child.url}/readyz`)).ok, 30_000, 100).catch((error: Error) => {
    throw new Error(`Recoup did not become ready: ${error.message}\n${child.output.slice(-30).join('\n')}`);
  });
  return child;
}

/** Enough of a Harness for the fixtures: GraphQL against the process, as its admin and operator. */
export async function processClient(child: RecoupProcess, jwtSecret: string): Promise<Harness> {
  const tokens = { admin: await signToken('chaos-admin', 'ADMIN', jwtSecret), operator: await signToken('chaos-operator', 'OPERATOR', jwtSecret), viewer: '' };
  const gql = async (query: string, variables?: Record<string, unknown>, auth?: { token?: string | null }): Promise<GqlResult> => {
    const response = await fetch(`${child.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${auth?.token ?? tokens.admin}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: GqlResult['errors'] };
    return { status: response.status, data: body.data ?? null, errors: body.errors };
  };
  return { gql, tokens } as unknown as Harness;
}

export async function killRecoup(child: RecoupProcess): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGKILL');
  await exited;
}
