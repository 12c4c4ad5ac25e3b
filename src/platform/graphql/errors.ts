import { DriverException } from '@mikro-orm/core';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { isAppError } from '../shared/errors';
import { databaseReason } from '../observability/safe-error';
import type { Logger } from '../observability/logger';

function unwrap(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22: "1" where a uuid belongs, an integer out of
 * range, a date that does not exist) come from a value the request sent: the transaction they
 * abort is rolled back whole, and the client is told which kind of value was refused.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
function refusedValue(error: unknown): { code: string; message: string } | null {
  if (!(error instanceof DriverException) || typeof error.code !== 'string') return null;
  if (error.code.startsWith('22')) {
    return { code: 'BAD_USER_INPUT', message: `A value in the request is not valid here: ${databaseReason(error).slice(0, 200)}` };
  }
  // Integrity constraints (class 23) are a last line: services check what they can first and name
  // the field. Whatever still reaches the database is refused whole, its transaction rolled back.
  if (error.code === '23505') return { code: 'CONFLICT', message: 'This conflicts with a record that already exists' };
  if (error.code.startsWith('23')) return { code: 'BAD_USER_INPUT', message: 'The request leaves out or contradicts a required value' };
  return null;
}

/**
 * One mapping from thrown errors to what a client sees: AppErrors keep their code and details,
 * validation failures become BAD_USER_INPUT, GraphQL's own errors pass through, and anything else
 * is logged with its request id and shown only as "Internal error".
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrap(error);
    if (isAppError(original)) {
      return { ...formatted, message: original.message, extensions: { ...original.details, code: original.code } };
    }
    if (original instanceof ArgumentValidationError) {
      const problems = original.extensions.validationErrors as Array<{ property: string; constraints?: Record<string, string> }>;
      return {
        ...formatted,
        message: 'Invalid input',
        extensions: { code: 'BAD_USER_INPUT', problems: problems.map((p) => ({ field: p.property, messages: Object.values(p.constraints ?? {}) })) },
      };
    }
    const refused = refusedValue(original);
    if (refused) {
      // Logged all the same: a value our own code computed could also be what the database refused.
      logger.warn({ err: original, path: formatted.path, code: refused.code }, 'the database refused a value in a GraphQL operation');
      return { message: refused.message, path: formatted.path, locations: formatted.locations, extensions: { code: refused.code } };
    }
    const code = formatted.extensions?.code;
    if (code && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    // Apollo and graphql-js describe a request they cannot run as sent (a persisted query of an
    // unknown version, variables that do not coerce) with errors that carry no code and wrap nothing.
    if (original instanceof GraphQLError && !formatted.path) {
      return { message: formatted.message, locations: formatted.locations, extensions: { code: 'BAD_REQUEST' } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return { message: 'Internal error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL' } };
  };
}
