/**
 * Errors as they may be logged or stored: class, code, a message without SQL, stack frames. A
 * database driver error (knex, MikroORM, pg) puts the whole statement in its message, with the
 * parameters inlined (`insert into … values (E'{"email":"jane@…"}') - <reason>`), and carries
 * `sql`, `parameters`, `query`, `detail` and `where` properties that may hold the same data:
 * none of that leaves this module.
 */

/** Statements as a driver message starts them; "with" and "values" too (CTEs, bare VALUES lists). */
const SQL_START = /^\s*\(?\s*(select|insert|update|delete|with|values|merge|create|alter|drop|truncate|copy|lock|begin|start|commit|rollback|savepoint|release|set|reset|show|call|do|explain|analyze|vacuum|refresh|listen|notify|unlisten|grant|revoke|comment|prepare|execute|deallocate|declare|fetch|close|discard)\b/i;
/** MikroORM appends `\n - detail: <pg detail>`; the detail quotes the offending data (`Key (email)=(…)`). */
const DETAIL_TRAILER = /\n - detail:[\s\S]*$/;
/** pg messages that end by quoting the value they refused: `invalid input syntax for type uuid: "…"`. */
const QUOTED_VALUE = /: "[\s\S]*"\s*$/;
const MAX_MESSAGE = 500;
const MAX_DEPTH = 3;

/** String properties that name things, never hold data: copied as they are when short. */
const SAFE_STRING_FIELDS = new Set([
  'code', 'sqlState', 'severity', 'routine', 'schema', 'table', 'column', 'dataType', 'constraint',
  'gatewayCode', 'declineCode', 'adviceCode', 'requestId', 'paymentIntentId', 'errno', 'syscall',
]);

/** Never copied, whatever their type. */
const UNSAFE_FIELDS = new Set(['sql', 'sqlMessage', 'parameters', 'params', 'bindings', 'query', 'statement', 'internalQuery', 'detail', 'where', 'hint', 'position', 'internalPosition', 'errmsg', 'details', 'body', 'payload', 'raw', 'response', 'request', 'headers', 'data']);

export interface SafeError {
  type: string;
  message: string;
  stack?: string;
  cause?: SafeError | string;
  [field: string]: unknown;
}

const SAFE = Symbol('recoup.safe-error');

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' && typeof (value as { stack?: unknown }).stack === 'string');
}

function stringField(error: unknown, key: string): string | undefined {
  const value = (error as Record<string, unknown> | null)?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** A message with any SQL statement (and what the driver quoted from the data) taken out. */
export function stripSql(message: string, statement?: string): string {
  let text = message;
  if (statement && statement.length > 0) text = text.split(statement).join('[sql]');
  text = text.replace(DETAIL_TRAILER, '');
  if (SQL_START.test(text) || text.startsWith('[sql]')) {
    // knex: `${statement with parameters inlined} - ${reason}`. The data may hold " - " itself,
    // the reason (PostgreSQL's message) does not: keep what follows the last one.
    const cut = text.lastIndexOf(' - ');
    text = cut >= 0 ? `[sql statement omitted] - ${text.slice(cut + 3)}` : '[sql statement omitted]';
  }
  text = text.replace(QUOTED_VALUE, ': "[value omitted]"');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

/** The error's message fit for a log line or a stored lastError. */
export function safeErrorMessage(error: unknown): string {
  if (isErrorLike(error)) return stripSql(error.message, stringField(error, 'sql') ?? stringField(error, 'query'));
  if (typeof error === 'string') return stripSql(error);
  return stripSql(String(error));
}

/** What the database said, without the statement: "invalid input syntax for type uuid: \"[value omitted]\"". */
export function databaseReason(error: unknown): string {
  return safeErrorMessage(error).replace(/^\[sql statement omitted\] - /, '');
}

function errorClass(error: Error): string {
  const ctor = (error as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== 'Object' ? ctor.name : error.name;
  return typeof name === 'string' && name.length > 0 ? name : 'Error';
}

/** Stack frames only: the header lines repeat the message (and MikroORM's repeat the driver's). */
function safeStack(error: Error, type: string, message: string): string | undefined {
  if (typeof error.stack !== 'string') return undefined;
  const frames = error.stack.split('\n').filter((line) => /^\s+at /.test(line));
  return [`${type}: ${message}`, ...frames].join('\n');
}

/** What a logger may write about an error: pino's `err` serializer and every error-valued field. */
export function serializeError(error: unknown, depth = 0): unknown {
  if (typeof error === 'string') return stripSql(error);
  if (!isErrorLike(error)) return error;
  if ((error as { [SAFE]?: true })[SAFE]) return error;
  const type = errorClass(error);
  const message = safeErrorMessage(error);
  const out: SafeError = { type, message };
  Object.defineProperty(out, SAFE, { value: true, enumerable: false });
  for (const key of Object.keys(error)) {
    if (UNSAFE_FIELDS.has(key) || key === 'message' || key === 'stack' || key === 'name' || key === 'cause') continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'string' && SAFE_STRING_FIELDS.has(key) && value.length <= 100) out[key] = value;
  }
  const stack = safeStack(error, type, message);
  if (stack) out.stack = stack;
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== null && depth < MAX_DEPTH) {
    const safeCause = serializeError(cause, depth + 1);
    out.cause = typeof safeCause === 'object' || typeof safeCause === 'string' ? (safeCause as SafeError | string) : String(safeCause);
  }
  return out;
}

/**
 * The fields of one log call with every error-valued field (at the top level or one level into a
 * plain object or array) serialised as above. Copies only when it finds an error.
 */
export function serializeErrorFields(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    let replaced: unknown = value;
    if (isErrorLike(value)) replaced = serializeError(value);
    else if (depth < 1 && Array.isArray(value) && value.some(isErrorLike)) replaced = value.map((v) => serializeError(v));
    else if (depth < 1 && value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const inner = serializeErrorFields(value as Record<string, unknown>, depth + 1);
      if (inner !== value) replaced = inner;
    }
    if (replaced !== value) {
      copy ??= { ...fields };
      copy[key] = replaced;
    }
  }
  return copy ?? fields;
}
