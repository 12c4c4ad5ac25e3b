import { GraphQLError, type ValidationRule } from 'graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../observability/logger';
import { AppError } from '../shared/errors';
import type { Authenticator, Principal } from '../graphql/auth';
import type { Context } from '../graphql/context';

/** The largest HTTP body and the largest WebSocket frame /graphql reads. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** What both transports enforce on every operation. */
export interface GraphqlLimits {
  validationRules: ValidationRule[];
  maxTokens: number;
  maxComplexity: number;
}

/** Gives a GraphQL error without a code the one Apollo would give it; one with a code keeps it. */
export function coded(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.code) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error.originalError, extensions: { ...error.extensions, code } });
}

/** What a context is made from: a fresh EntityManager per operation, and the logger. */
export interface ContextSources {
  db: { fork(): EntityManager };
  logger: Logger;
}

export async function contextFor(sources: ContextSources, authenticate: Authenticator, credentials: { authorization?: string; apiKey?: string }, requestId: string): Promise<Context> {
  let principal: Principal | null = null;
  let authError: AppError | null = null;
  try {
    principal = await authenticate(credentials);
  } catch (error) {
    authError = error instanceof AppError ? error : AppError.unauthenticated();
  }
  return { requestId, principal, authError, em: sources.db.fork(), logger: sources.logger.child({ requestId }) };
}
