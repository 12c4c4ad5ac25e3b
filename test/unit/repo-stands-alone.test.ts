/**
 * A fresh clone must be complete: no tracked file may name a path outside the repository, such
 * as a `shared/` folder beside it that only some machines have. Checked on every file git tracks
 * (package-lock.json and this file excepted), as text:
 *  - a relative path that starts with `..` (`'../../x'`, a Markdown link, `new URL('../..', …)`),
 *    resolved from the file's own folder;
 *  - `join(__dirname, '..', …)` / `resolve(__dirname, '..', …)` with literal segments;
 *  - a bare `shared/…` path (not `src/shared/…`, `./shared/…` or `../shared/…`): a folder beside
 *    the repository, since inside it `shared` lives only under `src/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '../..');
/** package-lock.json: npm's own paths; this file: its examples of ways out, below. */
const EXEMPT = new Set(['package-lock.json', relative(ROOT, __filename).split(sep).join('/')]);

/** `..`, `../..`, `../x/y`: a path that climbs, up to the next quote, space, bracket or backtick. */
const CLIMB = /(?<![\w./-])\.\.(?:\/[^\s'"`()[\]<>,;]*)?(?=$|[\s'"`()[\]<>,;])/g;
const DIRNAME_JOIN = /\b(?:join|resolve)\(\s*__dirname\s*((?:,\s*(?:'[^']*'|"[^"]*")\s*)+)[,)]/g;
const BARE_SHARED = /(?<![\w./@-])shared\/[\w./-]+/g;

function outside(target: string): boolean {
  const rel = relative(ROOT, target);
  return rel === '..' || rel.startsWith(`..${sep}`) || resolve(target) === resolve(ROOT, '..');
}

export function escapes(file: string, text: string): string[] {
  const dir = dirname(join(ROOT, file));
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    const at = `${file}:${index + 1}`;
    for (const match of line.matchAll(CLIMB)) {
      if (outside(resolve(dir, match[0]))) found.push(`${at}: ${match[0]}`);
    }
    for (const match of line.matchAll(DIRNAME_JOIN)) {
      const segments = [...(match[1] ?? '').matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? '');
      if (outside(resolve(dir, ...segments))) found.push(`${at}: ${match[0]}`);
    }
    for (const match of line.matchAll(BARE_SHARED)) found.push(`${at}: ${match[0]}`);
  });
  return found;
}

describe('the repository stands alone', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file && !EXEMPT.has(file) && existsSync(join(ROOT, file)) && lstatSync(join(ROOT, file)).isFile());

  it('tracks files to check', () => {
    expect(files).toContain('package.json');
    expect(files).toContain('test/fixtures/stripe/fixtures3.json');
  });

  it('has no tracked file that names a path outside the repository', () => {
    const found = files.flatMap((file) => {
      const bytes = readFileSync(join(ROOT, file));
      if (bytes.includes(0)) return []; // binary (images)
      return escapes(file, bytes.toString('utf8'));
    });
    expect(found).toEqual([]);
  });

  it('catches the ways out it is meant to catch, and not paths that stay inside', () => {
    expect(escapes('test/unit/x.test.ts', "readFileSync(resolve(__dirname, '../../../elsewhere/fixtures/objects.json'))")).not.toEqual([]);
    expect(escapes('README.md', 'The architecture is in `../elsewhere/notes.md`.')).not.toEqual([]);
    expect(escapes('src/a/b.ts', "const up = join(__dirname, '..', '..', '..', 'shared');")).not.toEqual([]);
    expect(escapes('src/a/b.ts', ' * objects (shared/example.json) is present')).not.toEqual([]);
    expect(escapes('src/a/b.ts', "import { x } from '../shared/logger';")).toEqual([]);
    expect(escapes('test/unit/x.test.ts', "resolve(__dirname, '../fixtures/stripe/fixtures3.json')")).toEqual([]);
    expect(escapes('test/support/x.ts', "join(__dirname, '..', '..', 'node_modules')")).toEqual([]);
    expect(escapes('README.md', 'see `src/shared/safe-error.ts`')).toEqual([]);
  });
});
