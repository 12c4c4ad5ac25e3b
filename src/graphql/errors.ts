import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { isAppError } from '../shared/errors';
import type { Logger } from '../shared/logger';

function unwrap(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
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
    const code = formatted.extensions?.code;
    if (code && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return { message: 'Internal error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL' } };
  };
}
