/**
 * `.env.example` is the list an operator copies: it must name every variable src/platform/config/ reads
 * (the Reader records each name it is asked for), nothing else, and its values must be the defaults.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../../src/platform/config';
import { variablesRead } from '../support/config-env';

const EXAMPLE = readFileSync(resolve(__dirname, '../../.env.example'), 'utf8');
/** `NAME=value` and `# NAME=value` lines; other comment lines are prose. */
const LISTED = [...EXAMPLE.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({ name: m[2] as string, commented: Boolean(m[1]), value: m[3] as string }));


describe('.env.example', () => {
  it('lists every variable src/platform/config/ reads', () => {
    const listed = new Set(LISTED.map((entry) => entry.name));
    expect([...variablesRead()].filter((name) => !listed.has(name))).toEqual([]);
  });

  it('lists no variable that src/platform/config/ does not read', () => {
    const read = variablesRead();
    expect(LISTED.map((entry) => entry.name).filter((name) => !read.has(name))).toEqual([]);
  });

  it('lists each variable once', () => {
    const names = LISTED.map((entry) => entry.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it('sets only defaults: loading its uncommented values gives the configuration of an empty environment', () => {
    const env = Object.fromEntries(LISTED.filter((entry) => !entry.commented).map((entry) => [entry.name, entry.value]));
    expect(Object.keys(env).length).toBeGreaterThan(50);
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });

  it('is read as a whole: the Reader records names without changing what loadConfig returns', () => {
    expect(loadConfig({}, new Set())).toEqual(loadConfig({}));
  });
});
