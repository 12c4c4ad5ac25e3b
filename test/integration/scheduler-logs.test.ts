import { Writable } from 'node:stream';
import { createLogger } from '../../src/platform/observability/logger';
import { eventually, startHarness, type Harness } from '../support/harness';

/**
 * The app's own wiring, with jobs started: the raw JSON text of every line it writes names each
 * binding once. (A child logger with `component` made from one that already has it writes the key
 * twice; JSON.parse keeps the last, so only the raw text shows it, and log collectors disagree on it.)
 */
const lines: string[] = [];
const stream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const occurrences = (line: string, key: string) => line.split(`"${key}":`).length - 1;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ startJobs: true, logger: createLogger('debug', {}, stream, 'json') });
});
afterAll(async () => h?.close());

it("the scheduler's lines carry component once, as 'scheduler'", async () => {
  const started = await eventually(async () => lines.find((line) => line.includes('"msg":"scheduler started"')));
  expect(occurrences(started, 'component')).toBe(1);
  expect(JSON.parse(started)).toMatchObject({ component: 'scheduler', msg: 'scheduler started' });
});

it('no line the app writes while starting and running jobs has a key twice', async () => {
  await eventually(async () => lines.some((line) => line.includes('"msg":"scheduler started"')));
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    for (const key of ['component', 'job', 'service', 'level', 'msg']) {
      if (occurrences(line, key) > 1) throw new Error(`"${key}" appears ${occurrences(line, key)} times in: ${line}`);
    }
  }
});
