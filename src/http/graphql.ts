import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from '@apollo/server/plugin/landingPage/default';
import express, { type RequestHandler } from 'express';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Services } from '../services';
import { AppError } from '../shared/errors';
import type { Authenticator, Principal } from '../graphql/auth';
import type { Context } from '../graphql/context';
import { createErrorFormatter } from '../graphql/errors';
import { sharedSubscribe } from '../graphql/shared-subscription-execution';
import { assertComplexity, depthLimit } from '../graphql/limits';

/** Gives a GraphQL error without a code the one Apollo would give it; one with a code keeps it. */
function coded(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.code) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error.originalError, extensions: { ...error.extensions, code } });
}

async function contextFor(services: Services, authenticate: Authenticator, credentials: { authorization?: string; apiKey?: string }, requestId: string): Promise<Context> {
  let principal: Principal | null = null;
  let authError: AppError | null = null;
  try {
    principal = await authenticate(credentials);
  } catch (error) {
    authError = error instanceof AppError ? error : AppError.unauthenticated();
  }
  return { requestId, principal, authError, services, em: services.db.fork(), logger: services.logger.child({ requestId }) };
}

export async function mountGraphql(deps: { schema: GraphQLSchema; services: Services; authenticate: Authenticator; httpServer: Server }): Promise<{ middleware: RequestHandler[]; stop(): Promise<void> }> {
  const { schema, services, authenticate, httpServer } = deps;
  const { config, logger } = services;
  const validationRules = [depthLimit(config.graphql.maxDepth)];
  const formatError = createErrorFormatter(logger);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((error) => formatError(error.toJSON(), error));

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsCleanup = useServer<Record<string, unknown>, { context?: Context }>(
    {
      schema,
      subscribe: sharedSubscribe,
      // A socket proves who it is once, in connectionParams; a bad token closes it (4403).
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const context = await contextFor(services, authenticate, { authorization: params.authorization as string | undefined, apiKey: params.apiKey as string | undefined }, randomUUID());
        if (!context.principal) return false;
        ctx.extra.context = context;
        return true;
      },
      // A subscription lives for hours and resolves many events: each read gets a fresh
      // EntityManager, or every event would see the entities as they were at the first one.
      context: (ctx) => {
        const base = ctx.extra.context!;
        return Object.defineProperty({ ...base }, 'em', { get: () => services.db.fork(), enumerable: true });
      },
      // Parse, validate and limit here, answering errors with the codes Apollo gives over HTTP; a
      // thrown parse error would close the whole socket (4500) instead of failing one operation.
      onSubscribe: (_ctx, _id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [coded(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(schema, document, [...specifiedRules, ...validationRules]);
        if (errors.length > 0) return errors.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
        try {
          assertComplexity(schema, document, payload.variables ?? undefined, payload.operationName ?? undefined, config.graphql.maxComplexity);
        } catch (error) {
          return [error as GraphQLError];
        }
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName };
      },
      // Apollo's formatError does not see WebSocket traffic: the same mapping, so codes arrive and internals do not.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatAll(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => formatAll(errors),
    },
    wsServer,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.graphql.introspection,
    validationRules,
    formatError,
    // Apollo's default adds stack traces outside production and test; clients never get one.
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
      {
        async requestDidStart() {
          return {
            async didResolveOperation({ request, document }) {
              try {
                assertComplexity(schema, document, request.variables, request.operationName ?? undefined, config.graphql.maxComplexity);
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
      contextFor(services, authenticate, { authorization: req.header('authorization'), apiKey: req.header('x-api-key') }, String(res.locals.requestId)),
  });
  return { middleware: [express.json({ limit: '1mb' }), middleware], stop: () => apollo.stop() };
}
