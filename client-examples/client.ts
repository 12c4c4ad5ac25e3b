import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

/**
 * Where and as whom the examples talk to Recoup. `url` is the server root or its /graphql endpoint.
 * Credentials: a bearer JWT (`token`) or an API key from the server's API_KEYS (`apiKey`, sent as
 * `x-api-key`); when both are given the server goes by the API key.
 */
export interface RecoupEndpoint {
  url: string;
  token?: string;
  apiKey?: string;
}

function authHeaders(endpoint: RecoupEndpoint): Record<string, string> {
  return {
    ...(endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}),
    ...(endpoint.apiKey ? { 'x-api-key': endpoint.apiKey } : {}),
  };
}

/** The server answered with GraphQL errors; `code` is the first error's `extensions.code`. */
export class GraphqlRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly errors: ReadonlyArray<{ message: string; extensions?: { code?: string } }>,
  ) {
    super(message);
    this.name = 'GraphqlRequestError';
  }
}

/** The server could not be reached or did not answer with GraphQL (timeout, refused, proxy page). */
export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

export function graphqlHttpUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/graphql') ? trimmed : `${trimmed}/graphql`;
}

export function graphqlWsUrl(url: string): string {
  return graphqlHttpUrl(url).replace(/^http/, 'ws');
}

interface GraphqlBody<R> {
  data?: R | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

const timedOut = (error: unknown): boolean => (error as Error | null)?.name === 'TimeoutError';

/** One typed operation over HTTP POST; the variables and result types come from the document. */
export async function request<R, V extends Record<string, unknown>>(
  endpoint: RecoupEndpoint,
  document: TypedDocumentNode<R, V>,
  variables: V,
  timeoutMs = 10_000,
): Promise<R> {
  const url = graphqlHttpUrl(endpoint.url);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders(endpoint) },
      body: JSON.stringify({ query: print(document), variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if (timedOut(error)) throw new NetworkError(`no answer from ${url} within ${timeoutMs} ms`, { cause: error });
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new NetworkError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, { cause: error });
  }
  let body: GraphqlBody<R>;
  try {
    body = (await response.json()) as GraphqlBody<R>;
  } catch (error) {
    if (timedOut(error)) throw new NetworkError(`no answer from ${url} within ${timeoutMs} ms`, { cause: error });
    throw new NetworkError(`HTTP ${response.status} from ${url} is not a GraphQL response`, { cause: error });
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new GraphqlRequestError(first.extensions?.code ?? `HTTP_${response.status}`, first.message, body.errors);
  }
  if (!body.data) throw new NetworkError(`HTTP ${response.status} from ${url} carried no data`);
  return body.data;
}
