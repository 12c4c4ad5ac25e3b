/**
 * Watches Recoup's live feeds (alertRaised, paymentStatusChanged) over graphql-ws and prints one
 * line per event; reconnects with capped exponential backoff.
 *
 *   RECOUP_URL=http://127.0.0.1:4000 RECOUP_TOKEN=<jwt> node dist/client-examples/live-alerts.js [--min-severity HIGH]
 *   (or RECOUP_API_KEY=<key> instead of RECOUP_TOKEN)
 */
import { print } from 'graphql';
import { CloseCode, createClient, type Client, type Sink } from 'graphql-ws';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { graphqlWsUrl } from './client';
import {
  LiveAlertRaisedDocument,
  LivePaymentStatusChangedDocument,
  type AlertFieldsFragment,
  type AlertSeverity,
  type LivePaymentStatusChangedSubscription,
} from './gql/graphql';

export type LiveAlert = AlertFieldsFragment;
export type StatusChange = LivePaymentStatusChangedSubscription['paymentStatusChanged'];
export type ConnectionState = 'connected' | 'disconnected';

export interface WatchAlertsOptions {
  url: string;
  /** A bearer JWT, or an API key from the server's API_KEYS (which wins when both are given). */
  token?: string;
  apiKey?: string;
  minSeverity?: AlertSeverity;
  onAlert(alert: LiveAlert): void;
  onStatusChange?(change: StatusChange): void;
  /** Errors that end a feed: GraphQL errors, a refused token, or retries used up. */
  onError?(error: unknown): void;
  /** Each socket opening and closing; a close is retried unless the token was refused or retries ran out (then onError). */
  onConnection?(state: ConnectionState, detail?: string): void;
  /** Reconnect attempts in a row before giving up (graphql-ws resets the count once connected). Default 20. */
  retryAttempts?: number;
  /** First reconnect delay; doubles per attempt up to maxRetryDelayMs, with full jitter. Defaults 500 ms and 30 s. */
  baseRetryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export interface AlertWatch {
  dispose(): Promise<void>;
}

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2^attempt)]. */
export function reconnectDelayMs(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

// A token the server refused (4401/4403) will be refused again. Everything else graphql-ws does not
// already treat as fatal is retried, including a refused or reset socket (an ErrorEvent, no code).
function retryable(event: unknown): boolean {
  const code = (event as { code?: unknown } | null)?.code;
  return code !== CloseCode.Forbidden && code !== CloseCode.Unauthorized;
}

function describeClose(event: unknown): string {
  const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
  return code === undefined ? String((event as Error)?.message ?? event) : `closed ${code}${reason ? ` ${reason}` : ''}`;
}

export function watchAlerts(opts: WatchAlertsOptions): AlertWatch {
  const base = opts.baseRetryDelayMs ?? 500;
  const cap = opts.maxRetryDelayMs ?? 30_000;
  let disposed = false;
  const client: Client = createClient({
    url: graphqlWsUrl(opts.url),
    webSocketImpl: WebSocket,
    connectionParams: opts.apiKey ? { apiKey: opts.apiKey } : { authorization: `Bearer ${opts.token ?? ''}` },
    lazy: true,
    retryAttempts: opts.retryAttempts ?? 20,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(retries, base, cap))),
    shouldRetry: retryable,
    on: {
      connected: () => opts.onConnection?.('connected'),
      closed: (event) => opts.onConnection?.('disconnected', describeClose(event)),
    },
  });

  const sink = <T>(deliver: (data: T) => void): Sink<{ data?: T | null; errors?: ReadonlyArray<unknown> }> => ({
    next: (result) => {
      if (result.errors?.length) opts.onError?.(result.errors);
      else if (result.data) deliver(result.data);
    },
    error: (error) => {
      if (!disposed) opts.onError?.(error);
    },
    complete: () => undefined,
  });

  const stopAlerts = client.subscribe(
    { query: print(LiveAlertRaisedDocument), variables: { minSeverity: opts.minSeverity ?? null } },
    sink<{ alertRaised: LiveAlert }>((data) => opts.onAlert(data.alertRaised)),
  );
  const stopChanges = opts.onStatusChange
    ? client.subscribe(
        { query: print(LivePaymentStatusChangedDocument) },
        sink<LivePaymentStatusChangedSubscription>((data) => opts.onStatusChange?.(data.paymentStatusChanged)),
      )
    : () => undefined;

  return {
    async dispose() {
      if (disposed) return;
      disposed = true;
      stopAlerts();
      stopChanges();
      await client.dispose();
    },
  };
}

export function formatAlert(a: LiveAlert): string {
  return `${a.createdAt}  ALERT   ${a.severity.padEnd(8)} ${a.type}  ${a.title}  (${a.id}${a.subjectId ? `, ${a.subjectType}:${a.subjectId}` : ''})`;
}

export function formatChange(c: StatusChange): string {
  return `${c.at}  PAYMENT ${c.paymentId}  ${c.from} -> ${c.to}  by ${c.actor}${c.reason ? ` (${c.reason})` : ''}`;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { 'min-severity': { type: 'string' } }, strict: true });
  const token = process.env.RECOUP_TOKEN;
  const apiKey = process.env.RECOUP_API_KEY;
  if (!token && !apiKey) {
    console.error('error: set RECOUP_TOKEN (a bearer JWT with role VIEWER or above) or RECOUP_API_KEY');
    process.exit(64);
  }
  const watch = watchAlerts({
    url: process.env.RECOUP_URL ?? 'http://127.0.0.1:4000',
    token,
    apiKey,
    minSeverity: values['min-severity']?.toUpperCase() as AlertSeverity | undefined,
    onAlert: (a) => console.log(formatAlert(a)),
    onStatusChange: (c) => console.log(formatChange(c)),
    onConnection: (state, detail) => console.error(`[${state}]${detail ? ` ${detail}` : ''}`),
    onError: (error) => {
      console.error(`error: ${JSON.stringify(error, Object.getOwnPropertyNames(error ?? {}))}`);
      void watch.dispose().then(() => (process.exitCode = 1));
    },
  });
  const stop = () => void watch.dispose().then(() => process.exit(process.exitCode ?? 0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
