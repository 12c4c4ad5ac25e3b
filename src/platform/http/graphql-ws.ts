import { getOperationAST, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../observability/logger';
import type { Authenticator } from '../graphql/auth';
import type { Context } from '../graphql/context';
import { sharedSubscribe } from '../graphql/shared-subscription-execution';
import { assertComplexity } from '../graphql/limits';
import { customerRateKey, type CustomerRateLimit } from './rate-limit';
import { BODY_LIMIT_BYTES, contextFor, coded, type ContextSources, type GraphqlLimits } from './graphql-context';

// setTimeout's delay is a signed 32-bit number of milliseconds; a later expiry is re-armed when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a socket carries besides graphql-ws's own `socket` and `request`. */
type SocketState = {
  context?: Context;
  expiryTimer?: NodeJS.Timeout;
};
type SocketExtra = SocketState & { socket: WebSocket };

const expired = (context: Context | undefined, now = Date.now()): boolean =>
  Boolean(context?.principal?.expiresAt && context.principal.expiresAt.getTime() <= now);

/** Closes the socket when its token expires: a socket authenticates once, so it must not outlive its credentials. */
function closeAtExpiry(extra: SocketExtra): void {
  const expiresAt = extra.context?.principal?.expiresAt;
  if (!expiresAt) return;
  const arm = () => {
    const wait = expiresAt.getTime() - Date.now();
    if (wait <= 0) {
      extra.socket.close(CloseCode.Unauthorized, 'Token expired');
      return;
    }
    extra.expiryTimer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    extra.expiryTimer.unref();
  };
  arm();
}

/**
 * ws has already closed the socket (1009) when it reports a frame over maxPayload; graphql-ws would
 * print the report to stderr as an internal error, outside the structured log. It is the client's
 * doing: one warning line in the log instead.
 */
function quietOversizedFrames(socket: WebSocket, logger: Logger): void {
  const emit = socket.emit.bind(socket);
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'error' && (args[0] as { code?: string } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      logger.warn({ route: '/graphql', limitBytes: BODY_LIMIT_BYTES }, 'closed a WebSocket that sent a frame over the size limit');
      return true;
    }
    return emit(event, ...args);
  }) as WebSocket['emit'];
}

/**
 * GraphQL over WebSocket (graphql-ws) on the HTTP server's /graphql path, under the same rules as
 * HTTP: frames capped like HTTP bodies, the same parse, validation, depth, field and complexity
 * limits, introspection off when it is off over HTTP, the customer rate limit per operation, and
 * credentials that stop working when they expire.
 */
export function mountGraphqlWebSocket(deps: {
  schema: GraphQLSchema;
  sources: ContextSources;
  authenticate: Authenticator;
  httpServer: Server;
  limits: GraphqlLimits;
  rateLimit: CustomerRateLimit;
  formatAll(errors: readonly GraphQLError[]): GraphQLError[] | ReturnType<GraphQLError['toJSON']>[];
}): { dispose(): Promise<void> } {
  const { schema, sources, authenticate, httpServer, limits, rateLimit, formatAll } = deps;
  const rules: ValidationRule[] = [...specifiedRules, ...limits.validationRules];
  // A frame over the cap is refused as it arrives (close 1009), before it is buffered whole.
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: BODY_LIMIT_BYTES });
  wsServer.prependListener('connection', (socket: WebSocket) => quietOversizedFrames(socket, sources.logger));
  const cleanup = useServer<Record<string, unknown>, SocketState>(
    {
      schema,
      subscribe: sharedSubscribe,
      // A socket proves who it is once, in connectionParams; a bad token closes it (4403).
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const credentials = { authorization: typeof params.authorization === 'string' ? params.authorization : undefined, apiKey: typeof params.apiKey === 'string' ? params.apiKey : undefined };
        const context = await contextFor(sources, authenticate, credentials, randomUUID());
        if (!context.principal || expired(context)) return false;
        ctx.extra.context = context;
        closeAtExpiry(ctx.extra);
        return true;
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiryTimer),
      // A subscription lives for hours and resolves many events: each read gets a fresh
      // EntityManager, or every event would see the entities as they were at the first one.
      context: (ctx) => {
        const base = ctx.extra.context!;
        return Object.defineProperty({ ...base }, 'em', { get: () => sources.db.fork(), enumerable: true });
      },
      // Parse, validate and limit here, answering errors with the codes Apollo gives over HTTP; a
      // thrown parse error would close the whole socket (4500) instead of failing one operation.
      onSubscribe: async (ctx, _id, payload) => {
        if (expired(ctx.extra.context)) {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Token expired');
          return [new GraphQLError('Token expired', { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        const key = customerRateKey(ctx.extra.context?.principal ?? null, ctx.extra.request.socket.remoteAddress ?? 'unknown');
        if (!(await rateLimit.allow(key))) {
          return [new GraphQLError('Too many requests; please slow down', { extensions: { code: 'RATE_LIMITED' } })];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (error) {
          return [coded(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) return errors.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
        // Variables are coerced here, as Apollo does over HTTP, so a value of the wrong type is the
        // client's error (BAD_USER_INPUT) rather than an uncoded one from inside execution.
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError('Name the operation to run (operationName)', { extensions: { code: 'BAD_USER_INPUT' } })];
        const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: 20 });
        if (variables.errors) return variables.errors.map((error) => coded(error, 'BAD_USER_INPUT'));
        try {
          assertComplexity(schema, document, payload.variables ?? undefined, payload.operationName ?? undefined, limits.maxComplexity);
        } catch (error) {
          return [error as GraphQLError];
        }
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName };
      },
      // Apollo's formatError does not see WebSocket traffic: the same mapping, so codes arrive and internals do not.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatAll(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => formatAll(errors) as GraphQLError[],
    },
    wsServer,
  );
  return { dispose: async () => cleanup.dispose() };
}
