/**
 * docs/configuration.md is the reference an operator reads: its variable tables must name every
 * variable src/platform/config/ reads (the Reader records each name it is asked for, as in
 * env-example.test.ts), nothing else, and each once.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { variablesRead } from '../support/config-env';

const DOC = readFileSync(resolve(__dirname, '../../docs/configuration.md'), 'utf8');


interface Row {
  names: string[];
  cells: string[];
}

/**
 * The rows of every table whose header starts with "variable": the backticked UPPER_CASE names in
 * a row's first cell are the variables it documents. Prose and other tables may mention names
 * freely without documenting them.
 */
function documentedRows(markdown: string): Row[] {
  const rows: Row[] = [];
  let inVariableTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.trim().startsWith('|')) {
      inVariableTable = false;
      continue;
    }
    const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
    if (/^-+$/.test(cells[0]?.replace(/[:\s]/g, '') ?? '')) continue;
    if (!inVariableTable) {
      inVariableTable = cells[0]?.toLowerCase() === 'variable';
      continue;
    }
    const names = [...(cells[0] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] as string);
    rows.push({ names, cells });
  }
  return rows;
}

const ROWS = documentedRows(DOC);
const DOCUMENTED = ROWS.flatMap((row) => row.names);

describe('docs/configuration.md', () => {
  it('has variable tables to check', () => {
    expect(DOCUMENTED.length).toBeGreaterThan(50);
  });

  it('documents every variable src/platform/config/ reads', () => {
    const documented = new Set(DOCUMENTED);
    expect([...variablesRead()].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('documents no variable that src/platform/config/ does not read', () => {
    const read = variablesRead();
    expect(DOCUMENTED.filter((name) => !read.has(name))).toEqual([]);
  });

  it('documents each variable once, in a row of its own with a default and a meaning', () => {
    expect(DOCUMENTED.filter((name, index) => DOCUMENTED.indexOf(name) !== index)).toEqual([]);
    const incomplete = ROWS.filter((row) => row.names.length !== 1 || row.cells.length < 3 || !row.cells[1] || !row.cells[2]);
    expect(incomplete.map((row) => row.cells.join(' | '))).toEqual([]);
  });

  it('reads tables the way the checks above rely on', () => {
    const sample = [
      'Prose naming `NOT_A_ROW` is not documentation.',
      '',
      '| variable | default | meaning |',
      '| --- | --- | --- |',
      '| `PORT` | `4000` | port |',
      '',
      '| other | x |',
      '| --- | --- |',
      '| `ELSEWHERE` | y |',
    ].join('\n');
    expect(documentedRows(sample)).toEqual([{ names: ['PORT'], cells: ['`PORT`', '`4000`', 'port'] }]);
  });
});
