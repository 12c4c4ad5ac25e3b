import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from '@apollo/server/plugin/landingPage/default';
import express, { type RequestHandler } from 'express';
import { GraphQLError, parse, validate, type GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Services } from '../services';
import { AppError } from '../shared/errors';
import type { Authenticator, Principal } from '../graphql/auth';
import type { Context } from '../graphql/context';
import { createErrorFormatter } from '../graphql/errors';
import { assertComplexity, depthLimit } from '../graphql/limits';

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

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsCleanup = useServer<Record<string, unknown>, { context?: Context }>(
    {
      schema,
      // A socket proves who it is once, in connectionParams; a bad token closes it (4403).
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const context = await contextFor(services, authenticate, { authorization: params.authorization as string | undefined, apiKey: params.apiKey as string | undefined }, randomUUID());
        if (!context.principal) return false;
        ctx.extra.context = context;
        return true;
      },
      context: (ctx) => ({ ...ctx.extra.context!, em: services.db.fork() }),
      onSubscribe: (_ctx, _id, payload) => {
        const document = parse(payload.query);
        const errors = validate(schema, document, validationRules);
        if (errors.length > 0) return errors;
        try {
          assertComplexity(schema, document, payload.variables ?? undefined, payload.operationName ?? undefined, config.graphql.maxComplexity);
        } catch (error) {
          return [error as never];
        }
        return undefined;
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.graphql.introspection,
    validationRules,
    formatError,
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
