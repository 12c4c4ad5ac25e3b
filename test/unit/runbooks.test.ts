/**
 * The docs in layers: README.md stays short and points at the rest; docs/operations.md has a
 * runbook for every alert an operator can be shown; docs/api.md names every root field of the
 * schema; no relative link in README.md or docs/*.md (nor an anchor it names) leads nowhere.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { buildSchema } from 'graphql';
import { AlertType } from '../../src/alerts/alert.types';

const ROOT = resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

const README = read('README.md');
const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);
const README_LIMIT = 220;

/** Markdown without its fenced code blocks: what is in them is not a link or a heading. */
const withoutFences = (markdown: string): string => markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
/** …and with inline code spans blanked, as links inside them are not links either. */
const withoutCode = (markdown: string): string => withoutFences(markdown).replace(/`[^`\n]*`/g, '``');

/** `[text](target)` and `![alt](target "title")` targets; `<…>` autolinks are absolute, so not needed. */
function linkTargets(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
}

const isRelative = (target: string): boolean => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('//');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const match of withoutFences(markdown).replace(/`([^`\n]*)`/g, '$1').matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = (match[1] as string)
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

/** Every relative link of `file` that points at no file, or at an anchor its target lacks. */
function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const target of linkTargets(markdown).filter(isRelative)) {
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const path = pathPart === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), decodeURIComponent(pathPart));
    if (relative(ROOT, path).startsWith('..') || !existsSync(path)) {
      broken.push(`${file}: ${target} (no such file)`);
      continue;
    }
    const text = pathPart === '' ? markdown : statSync(path).isFile() && path.endsWith('.md') ? readFileSync(path, 'utf8') : null;
    if (anchor && text !== null && !anchors(text).has(anchor.toLowerCase())) {
      broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  return broken;
}

describe('README.md', () => {
  it(`is at most ${README_LIMIT} lines`, () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(README_LIMIT);
  });

  it.each(['docs/configuration.md', 'docs/api.md', 'docs/operations.md', 'docs/benchmarks.md', 'docs/deployment.md', 'ARCHITECTURE.md'])('links %s', (doc) => {
    expect(linkTargets(README).map((target) => target.split('#')[0])).toContain(doc);
  });
});

describe('docs/operations.md', () => {
  const operations = read('docs/operations.md');
  const headings = [...operations.matchAll(/^###[ \t]+(.+?)[ \t]*$/gm)].map((m) => (m[1] as string).replace(/`/g, '').trim());

  it.each(Object.values(AlertType))('has a runbook heading for %s', (type) => {
    expect(headings).toContain(type);
  });

  it('has no runbook for an alert type that does not exist', () => {
    const runbooks = operations.slice(operations.indexOf('\n## Runbooks'));
    const next = runbooks.indexOf('\n## ', 1);
    const section = next === -1 ? runbooks : runbooks.slice(0, next);
    const named = [...section.matchAll(/^###[ \t]+(.+?)[ \t]*$/gm)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !(Object.values(AlertType) as string[]).includes(name))).toEqual([]);
  });
});

describe('docs/api.md', () => {
  const api = read('docs/api.md');
  const schema = buildSchema(read('schema/schema.graphql'));
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) => Object.keys(type?.getFields() ?? {}));

  it.each(roots)('names %s with the role it needs', (field) => {
    // In a table row of operations (`field(…)` or `field`), whose last cells say the role.
    const rows = api.split('\n').filter((line) => line.startsWith('|') && new RegExp(`\`(subscription )?${field}[(\`:]`).test(line));
    expect(rows.filter((row) => /\| *(VIEWER|OPERATOR|ADMIN)\b[^|]*\|/.test(row))).not.toEqual([]);
  });
});

describe('relative links in README.md and docs/*.md', () => {
  it('has documents to check', () => {
    expect(DOCS).toEqual(expect.arrayContaining(['docs/configuration.md', 'docs/api.md', 'docs/operations.md', 'docs/benchmarks.md', 'docs/deployment.md']));
  });

  it.each(['README.md', ...DOCS])('%s links only to files and headings that exist', (file) => {
    expect(brokenLinks(file, read(file))).toEqual([]);
  });

  it('finds the broken links it is meant to find, and not the ones that work', () => {
    const sample = [
      '# Title',
      '## Two `npm` commands',
      'See [gone](docs/missing.md), [here](#two-npm-commands), [nowhere](#no-such-heading),',
      '[ok](ARCHITECTURE.md#the-pipeline), [bad anchor](ARCHITECTURE.md#no-such-part), [web](https://example.com/x.md),',
      '![pic](client-examples/dashboard/screenshot.png) and [up](../outside.md).',
      '```sh',
      'echo "[not a link](nowhere.md)"',
      '```',
    ].join('\n');
    expect(brokenLinks('README.md', sample)).toEqual([
      'README.md: docs/missing.md (no such file)',
      'README.md: #no-such-heading (no such heading)',
      'README.md: ARCHITECTURE.md#no-such-part (no such heading)',
      'README.md: ../outside.md (no such file)',
    ]);
    expect(anchors('### 2. Inbox → apply\n## SIGTERM: drain, then exit')).toEqual(new Set(['2-inbox--apply', 'sigterm-drain-then-exit']));
  });
});
