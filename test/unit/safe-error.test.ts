import { Writable } from 'node:stream';
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { createLogger } from '../../src/platform/observability/logger';
import { safeErrorMessage, serializeError } from '../../src/platform/observability/safe-error';

/**
 * Real driver errors from the test server: MikroORM's DriverException puts the statement, with the
 * parameters inlined, in its message and stack, and copies pg's detail/where (which quote the data).
 */
const EMAIL = 'jane.secret@example.com';
const PAYLOAD = JSON.stringify({ customer_details: { email: EMAIL, name: 'Jane\u0000 Secret' } });

let orm: MikroORM;
beforeAll(async () => {
  orm = await MikroORM.init({ clientUrl: process.env.RECOUP_TEST_SERVER_URL, entities: [], discovery: { warnWhenNoEntities: false }, debug: false, allowGlobalContext: true });
});
afterAll(async () => orm?.close());

async function driverError(query: string, params: unknown[]): Promise<Error> {
  try {
    await orm.em.fork().execute(query, params);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the statement to fail');
}

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger('debug', {}, stream) };
}

describe('serializeError on a real MikroORM driver error', () => {
  it('the invalid jsonb insert: class, SQLSTATE and PostgreSQL reason, without the statement or the data', async () => {
    const error = await driverError(`select ?::jsonb as payload`, [PAYLOAD]);
    expect(error.message).toContain(EMAIL); // what would leak, today
    const safe = serializeError(error) as Record<string, any>;

    expect(safe).toMatchObject({ type: 'DriverException', code: '22P05', message: '[sql statement omitted] - unsupported Unicode escape sequence' });
    expect(safe.stack.split('\n')[0]).toBe('DriverException: [sql statement omitted] - unsupported Unicode escape sequence');
    expect(safe.stack).toMatch(/\n\s+at /);
    for (const key of ['sql', 'parameters', 'query', 'detail', 'where', 'internalQuery', 'hint']) expect(safe).not.toHaveProperty(key);
    const text = JSON.stringify(safe);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toMatch(/select|jsonb/i);
    expect(safeErrorMessage(error)).toBe('[sql statement omitted] - unsupported Unicode escape sequence');
  });

  it('a unique violation: the constraint is named, the duplicated value (pg detail) is not', async () => {
    const em = orm.em.fork();
    await em.execute(`create temporary table if not exists safe_error_probe (email text unique)`);
    await em.execute(`insert into safe_error_probe (email) values (?) on conflict do nothing`, [EMAIL]);
    const error = await em.execute(`insert into safe_error_probe (email) values (?)`, [EMAIL]).then(
      () => { throw new Error('expected a unique violation'); },
      (e: Error) => e,
    );
    expect(`${error.message} ${(error as { detail?: string }).detail}`).toContain(EMAIL);
    const safe = serializeError(error) as Record<string, any>;
    expect(safe).toMatchObject({ type: 'UniqueConstraintViolationException', code: '23505', constraint: 'safe_error_probe_email_key' });
    expect(safe.message).toBe('[sql statement omitted] - duplicate key value violates unique constraint "safe_error_probe_email_key"');
    expect(JSON.stringify(safe)).not.toContain(EMAIL);
  });

  it('pg without MikroORM: the value PostgreSQL quotes in its message is left out', async () => {
    const client = new Client({ connectionString: process.env.RECOUP_TEST_SERVER_URL });
    await client.connect();
    const error = await client.query(`select $1::uuid`, [EMAIL]).then(() => { throw new Error('expected a failure'); }, (e: Error) => e);
    await client.end();
    expect(error.message).toContain(EMAIL);
    expect(serializeError(error)).toMatchObject({ type: 'DatabaseError', code: '22P02', message: 'invalid input syntax for type uuid: "[value omitted]"' });
  });
});

describe('the app logger', () => {
  it('writes no statement or payload, whichever way an error is logged', async () => {
    const error = await driverError(`select ?::jsonb as payload`, [PAYLOAD]);
    const { lines, logger } = capture();
    logger.error({ err: error, eventId: 'evt_1' }, 'with a message');
    logger.error({ err: error });
    logger.error(error);
    logger.warn({ error, recordError: error, nested: { cause: error } }, 'other fields');
    logger.warn({ err: error.message }, 'a message string under err');
    logger.child({ component: 'x' }).error({ err: new Error('wrapper', { cause: error }) }, 'a cause');

    expect(lines).toHaveLength(6);
    for (const line of lines) {
      expect(line).not.toContain(EMAIL);
      expect(line).not.toMatch(/select\s|jsonb/i);
    }
    const records = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(records[0]).toMatchObject({ eventId: 'evt_1', msg: 'with a message', err: { type: 'DriverException', code: '22P05' } });
    expect(records[1].msg).toBe('[sql statement omitted] - unsupported Unicode escape sequence');
    expect(records[2]).toMatchObject({ msg: '[sql statement omitted] - unsupported Unicode escape sequence', err: { type: 'DriverException' } });
    expect(records[3]).toMatchObject({ error: { code: '22P05' }, recordError: { code: '22P05' }, nested: { cause: { type: 'DriverException' } } });
    expect(records[4].err).toBe('[sql statement omitted] - unsupported Unicode escape sequence');
    expect(records[5].err).toMatchObject({ type: 'Error', message: 'wrapper', cause: { type: 'DriverException', code: '22P05' } });
  });

  it('keeps what an ordinary error says', () => {
    const { lines, logger } = capture();
    logger.warn({ err: new TypeError('Stripe: card declined') }, 'x');
    expect(JSON.parse(lines[0]).err).toMatchObject({ type: 'TypeError', message: 'Stripe: card declined' });
  });
});
