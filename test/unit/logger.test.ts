import { Writable } from 'node:stream';
import { loadConfig, resolveLogFormat } from '../../src/platform/config';
import { createLogger, type LogFormat } from '../../src/platform/observability/logger';

/** A logger writing into memory: every raw line exactly as it would reach stdout. */
function capture(format: LogFormat) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger('debug', {}, stream, format) };
}

describe('createLogger formats', () => {
  it('pretty: a readable line (not JSON) with the level, the message and the fields, written before the call returns', () => {
    const { lines, logger } = capture('pretty');
    logger.warn({ paymentId: 'pay_123' }, 'delivery is late');
    expect(lines.length).toBeGreaterThan(0);
    const [first] = lines;
    expect(first.startsWith('{')).toBe(false);
    expect(() => JSON.parse(first)).toThrow();
    expect(first).toMatch(/WARN/);
    expect(first).toContain('delivery is late');
    expect(lines.join('\n')).toContain('pay_123');
    // No colour codes into a stream that is not a terminal.
    expect(lines.join('\n')).not.toContain('\u001b[');
  });

  it('pretty: errors are still written by the safe serializer and secrets still redacted', () => {
    const { lines, logger } = capture('pretty');
    logger.error({ err: new Error('boom'), headers: { authorization: 'Bearer secret-token' } }, 'failed');
    const text = lines.join('\n');
    expect(text).toContain('failed');
    expect(text).toContain('boom');
    expect(text).not.toContain('secret-token');
  });

  it('json: one JSON object a line with level, msg and the fields', () => {
    const { lines, logger } = capture('json');
    logger.info({ paymentId: 'pay_123' }, 'paid');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith('{')).toBe(true);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, msg: 'paid', paymentId: 'pay_123', service: 'recoup' });
  });

  it('json is the default when no format is given', () => {
    const lines: string[] = [];
    const logger = createLogger('info', {}, { write: (line: string) => void lines.push(line) });
    logger.info('hello');
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'hello' });
  });
});

describe('LOG_FORMAT', () => {
  it('defaults to auto: pretty on a terminal, JSON otherwise', () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    expect(config.logFormat).toBe('auto');
    expect(resolveLogFormat(config.logFormat, true)).toBe('pretty');
    expect(resolveLogFormat(config.logFormat, false)).toBe('json');
  });

  it('json and pretty are forced whatever stdout is', () => {
    for (const tty of [true, false]) {
      expect(resolveLogFormat(loadConfig({ NODE_ENV: 'test', LOG_FORMAT: 'json' }).logFormat, tty)).toBe('json');
      expect(resolveLogFormat(loadConfig({ NODE_ENV: 'test', LOG_FORMAT: 'pretty' }).logFormat, tty)).toBe('pretty');
    }
  });

  it('anything else is a configuration problem', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT must be one of json, pretty, auto \(got "xml"\)/);
  });
});
