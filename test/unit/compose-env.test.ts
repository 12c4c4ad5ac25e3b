/**
 * compose.yaml and the Dockerfile, read as text: no Docker engine runs here, so the image is not built
 * and the stack not started. What can be checked is that the recoup services set only variables
 * src/platform/config/ reads (the Reader records each name asked for), that what production requires
 * is set, that the whole environment loads, and that the Dockerfile does what deployers expect.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/platform/config';

const ROOT = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');

interface Service {
  env_file?: string | string[];
  environment?: Record<string, string> | string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };

/** An env file as compose reads it; the repo keeps the `.example` of each, the real one is the deployer's. */
const envFile = (path: string): Record<string, string> =>
  Object.fromEntries([...read(`${path}.example`).matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));

function serviceEnv(service: Service): Record<string, string> {
  const files = service.env_file === undefined ? [] : ([] as string[]).concat(service.env_file);
  const listed = Array.isArray(service.environment) ? Object.fromEntries(service.environment.map((e) => e.split(/=(.*)/s).slice(0, 2))) : (service.environment ?? {});
  return Object.assign({}, ...files.map(envFile), listed) as Record<string, string>;
}

function namesRead(env: Record<string, string>): Set<string> {
  const names = new Set<string>();
  loadConfig({}, names);
  loadConfig(env, names);
  return names;
}

const RECOUP = ['recoup-1', 'recoup-2'];

describe('compose.yaml', () => {
  it('runs two Recoup instances with the same environment, PUBSUB=postgres and Agenda on MongoDB', () => {
    const [one, two] = RECOUP.map((name) => serviceEnv(compose.services[name]!));
    expect(one).toEqual(two);
    expect(one).toMatchObject({ NODE_ENV: 'production', PUBSUB: 'postgres', AGENDA_MONGO_URL: expect.stringMatching(/^mongodb:\/\/mongo:27017\//) });
    expect(compose.services.postgres).toMatchObject({ image: 'postgres:17' });
    expect(compose.services.mongo).toMatchObject({ image: 'mongo:7' });
  });

  it('sets only variables src/platform/config/ reads, for the instances and the migrate job', () => {
    for (const name of [...RECOUP, 'migrate']) {
      const env = serviceEnv(compose.services[name]!);
      const known = namesRead(env);
      expect({ name, unknown: Object.keys(env).filter((key) => !known.has(key)) }).toEqual({ name, unknown: [] });
    }
  });

  it('sets what production requires, and the environment loads', () => {
    const env = serviceEnv(compose.services['recoup-1']!);
    for (const required of ['DATABASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET', 'AUTH_JWT_SECRET']) expect(env).toHaveProperty(required);
    const config = loadConfig(env);
    expect(config).toMatchObject({ env: 'production', sandbox: false, pubsub: 'postgres', port: 4000 });
    expect(config.databaseUrl).toMatch(/@postgres:5432\//);
    expect(config.drainTimeoutMs).toBeLessThan(30_000); // below stop_grace_period: 30s, compose's SIGKILL
  });

  it('keeps secrets in env files outside git, not in compose.yaml', () => {
    const inline = RECOUP.map((name) => Object.keys((compose.services[name]!.environment ?? {}) as Record<string, string>)).flat();
    expect(inline.filter((key) => /SECRET|TOKEN|PASSWORD|API_KEYS|DATABASE_URL/.test(key))).toEqual([]);
    expect(read('.gitignore')).toMatch(/^docs\/deploy\/\*\.env$/m);
    expect(read('.dockerignore')).toMatch(/^docs\/deploy\/secrets\.env$/m);
  });

  it('migrates once before the instances start', () => {
    expect(compose.services.migrate!.command).toEqual(['node', 'dist/src/app/migrate-cli.js']);
    for (const name of RECOUP) expect(compose.services[name]!.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
  });

  it('puts both instances behind one nginx port, with the config kept in docs/deploy/', () => {
    const nginx = read('docs/deploy/nginx.conf');
    for (const name of RECOUP) expect(nginx).toContain(`server ${name}:4000`);
    expect(compose.services.proxy).toMatchObject({ ports: ['8080:8080'], volumes: ['./docs/deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro'] });
  });
});

describe('Dockerfile (text checks; the image is not built here)', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('builds with dev dependencies and runs with production ones only', () => {
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/^RUN npm ci$/m);
    expect(stages[0]).toMatch(/^RUN npm run build$/m);
    expect(stages[1]).toMatch(/^RUN npm ci --omit=dev/m);
    expect(stages[1]).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it('runs as a non-root user, node itself as PID 1 so SIGTERM reaches the drain', () => {
    const users = [...stages[1]!.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
    expect(stages[1]).toMatch(/^CMD \["node", "--enable-source-maps", "dist\/src\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/^ENTRYPOINT/m);
  });

  it('has a curl-less HEALTHCHECK on /readyz', () => {
    expect(stages[1]).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|4000\)\+'\/readyz'\)/m);
  });
});
