import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { CloseCode, createClient, type Client } from 'graphql-ws';
import { GraphqlRequestError, graphqlWsUrl, request } from '../client';
import { connectionParamsOf, endpointOf, type Credential } from './session';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'refused';

export interface Api {
  /** One typed query or mutation over HTTP. Throws GraphqlRequestError (with a code) or NetworkError. */
  run<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V): Promise<R>;
  /** A live feed over the one graphql-ws socket; answers its stop function. */
  subscribe<R>(document: TypedDocumentNode<R, Record<string, never>>, onData: (data: R) => void): () => void;
  dispose(): Promise<void>;
}

export interface ApiEvents {
  onState(state: LiveState, detail?: string): void;
  /** The socket (re)connected: events may have been missed while it was down, so re-read everything. */
  onConnected(): void;
  onError(error: unknown): void;
}

const BASE_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;
const RESUBSCRIBE_DELAY_MS = 1_000;

/** The token was refused: retrying it cannot help. Everything else (restart, network) is retried. */
const refused = (event: unknown): boolean => {
  const code = (event as { code?: unknown } | null)?.code;
  return code === CloseCode.Forbidden || code === CloseCode.Unauthorized;
};

/** GraphQL errors that a retry would only repeat: this credential may not read the feed. */
const deniedByRole = (error: unknown): boolean =>
  Array.isArray(error) && error.some((e: { extensions?: { code?: unknown } }) => ['FORBIDDEN', 'UNAUTHENTICATED'].includes(String(e.extensions?.code)));

export function connectApi(credential: Credential, events: ApiEvents): Api {
  const origin = window.location.origin;
  const endpoint = endpointOf(credential, origin);
  let disposed = false;
  const client: Client = createClient({
    url: graphqlWsUrl(origin),
    connectionParams: connectionParamsOf(credential),
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    // Full-jitter exponential backoff, so a restarted server is not met by every dashboard at once.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(MAX_RETRY_MS, BASE_RETRY_MS * 2 ** Math.min(retries, 20)))),
    shouldRetry: (event) => !refused(event),
    on: {
      connecting: () => events.onState('connecting'),
      connected: () => {
        events.onState('live');
        events.onConnected();
      },
      closed: (event) => {
        if (disposed) return;
        if (refused(event)) events.onState('refused', (event as CloseEvent).reason);
        else events.onState('reconnecting');
      },
    },
  });

  return {
    async run(document, variables) {
      return request(endpoint, document, variables);
    },
    subscribe(document, onData) {
      let stop: () => void = () => undefined;
      const start = () => {
        stop = client.subscribe(
          { query: print(document) },
          {
            next: (result) => {
              if (result.errors?.length) events.onError(new GraphqlRequestError(String(result.errors[0].extensions?.code ?? 'ERROR'), result.errors[0].message, result.errors));
              else if (result.data) onData(result.data as never);
            },
            // The server ended this feed (it fell too far behind, say): start it again and re-read
            // what it would have told us. A refused credential ends everything instead.
            error: (error) => {
              if (disposed || refused(error)) return;
              events.onError(error);
              if (deniedByRole(error)) return;
              setTimeout(() => {
                if (disposed) return;
                start();
                events.onConnected();
              }, RESUBSCRIBE_DELAY_MS);
            },
            complete: () => undefined,
          },
        );
      };
      start();
      return () => stop();
    },
    async dispose() {
      disposed = true;
      // graphql-ws rethrows the close that ended a refused connection; it is already handled.
      await Promise.resolve(client.dispose()).catch(() => undefined);
    },
  };
}
