import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CODEGEN_OUTPUT } from '../../codegen';
import { renderSchema } from '../../src/app/emit-schema';

/**
 * Generated files are committed, so CI must notice when they no longer match their sources:
 * schema/schema.graphql against the resolvers (`npm run schema`), and client-examples/gql/ against
 * that schema plus client-examples/*.graphql (`npm run codegen`).
 */
const ROOT = resolve(__dirname, '../..');

// @graphql-codegen/cli requires ESM-only yargs, which jest on Node 20 cannot load; plain node can.
// The child loads codegen.ts the way `graphql-codegen --config codegen.ts` does and prints the
// files it would write instead of writing them.
const GENERATE = `
  const { generate, loadCodegenConfig } = require('@graphql-codegen/cli');
  loadCodegenConfig({ configFilePath: 'codegen.ts' })
    .then(({ config }) => generate({ ...config, cwd: process.cwd(), silent: true }, false))
    .then((files) => process.stdout.write(JSON.stringify(files.map((f) => ({ filename: f.filename, content: f.content })))))
    .catch((error) => { console.error(error); process.exit(1); });
`;

async function generateInMemory(): Promise<Map<string, string>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '-e', GENERATE], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  const files = JSON.parse(stdout) as Array<{ filename: string; content: string }>;
  return new Map(files.map((f) => [relative(ROOT, resolve(ROOT, f.filename)), f.content]));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

describe('committed generated files are fresh', () => {
  it('schema/schema.graphql is what the code produces (else run `npm run schema`)', async () => {
    const committed = readFileSync(join(ROOT, 'schema', 'schema.graphql'), 'utf8');
    expect(await renderSchema()).toBe(committed);
  });

  it('client-examples/gql/ is what codegen produces from the committed schema and documents (else run `npm run codegen`)', async () => {
    const generated = await generateInMemory();

    expect(filesUnder(join(ROOT, CODEGEN_OUTPUT))).toEqual([...generated.keys()].sort());
    const stale = [...generated].filter(([file, content]) => readFileSync(join(ROOT, file), 'utf8') !== content).map(([file]) => file);
    expect(stale).toEqual([]);
  }, 60_000);
});
