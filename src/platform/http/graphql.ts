import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from '@apollo/server/plugin/landingPage/default';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import type { Authenticator } from '../graphql/auth';
import type { Context } from '../graphql/context';
import { createErrorFormatter } from '../graphql/errors';
import { assertComplexity, documentLimits } from '../graphql/limits';
import { BODY_LIMIT_BYTES, contextFor, type ContextSources, type GraphqlLimits } from './graphql-context';
import { mountGraphqlWebSocket } from './graphql-ws';
import type { CustomerRateLimit } from './rate-limit';

/**
 * A body /graphql cannot read (not JSON, over the size limit) answers as GraphQL errors do, with a
 * code, rather than in express's own shape.
 */
const bodyErrors: ErrorRequestHandler = (error: Error & { status?: number; type?: string }, _req, res, next) => {
  const status = error.status && error.status >= 400 && error.status < 500 ? error.status : null;
  if (!status) return next(error);
  const message = error.type === 'entity.too.large' ? `Request body is larger than ${BODY_LIMIT_BYTES / 1024 / 1024} MB` : error.type === 'entity.parse.failed' ? 'Request body is not a JSON object' : error.message;
  res.status(status).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
};

export async function mountGraphql(deps: {
  schema: GraphQLSchema;
  config: Pick<Config, 'env' | 'graphql'>;
  db: ContextSources['db'];
  logger: Logger;
  authenticate: Authenticator;
  httpServer: Server;
  rateLimit: CustomerRateLimit;
}): Promise<{ middleware: Array<RequestHandler | ErrorRequestHandler>; stop(): Promise<void> }> {
  const { schema, config, logger, authenticate, httpServer } = deps;
  const sources: ContextSources = { db: deps.db, logger };
  const validationRules = [documentLimits({ maxDepth: config.graphql.maxDepth, maxFields: config.graphql.maxFields })];
  const formatError = createErrorFormatter(logger);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((error) => formatError(error.toJSON(), error));
  const limits: GraphqlLimits = { validationRules, maxTokens: config.graphql.maxTokens, maxComplexity: config.graphql.maxComplexity };

  const ws = mountGraphqlWebSocket({
    schema,
    sources,
    authenticate,
    httpServer,
    // Apollo adds this rule itself over HTTP when introspection is off.
    limits: { ...limits, validationRules: config.graphql.introspection ? validationRules : [...validationRules, NoSchemaIntrospectionCustomRule] },
    rateLimit: deps.rateLimit,
    formatAll,
  });

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.graphql.introspection,
    validationRules,
    parseOptions: { maxTokens: limits.maxTokens },
    formatError,
    // Apollo's default adds stack traces outside production and test; clients never get one.
    includeStacktraceInErrorResponses: false,
    // Apollo would stop itself on SIGTERM and raise the signal again (outside NODE_ENV=test), which
    // main.ts's drain takes for a second signal and exits 1; the drain stops Apollo through app.stop().
    stopOnTerminationSignals: false,
    plugins: [
      // No @cacheControl hints anywhere: Apollo's default plugin would only wrap every field's resolver to compute none.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { async drainServer() { await ws.dispose(); } }; } },
      {
        async requestDidStart() {
          return {
            async didResolveOperation({ request, document, operation }) {
              if (operation?.operation === 'subscription') {
                throw new GraphQLError('Subscriptions run over WebSocket (graphql-ws) at /graphql, not over HTTP', { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
              }
              try {
                assertComplexity(schema, document, request.variables, request.operationName ?? undefined, limits.maxComplexity);
              } catch (error) {
                const e = error as GraphQLError;
                throw new GraphQLError(e.message, { extensions: { ...e.extensions, http: { status: 400 } } });
              }
            },
          };
        },
      },
      config.env === 'production' ? ApolloServerPluginLandingPageProductionDefault() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
    ],
  });
  await apollo.start();
  const middleware = expressMiddleware(apollo, {
    context: async ({ req, res }) =>
      contextFor(sources, authenticate, { authorization: req.header('authorization'), apiKey: req.header('x-api-key') }, String(res.locals.requestId)),
  });
  return { middleware: [express.json({ limit: BODY_LIMIT_BYTES }), middleware, bodyErrors], stop: () => apollo.stop() };
}
