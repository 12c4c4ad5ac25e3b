/**
 * The subscriber side of the fan-out bench (fanout.bench.ts forks this file as a child process,
 * so that 1,000 clients parsing frames do not share the server's event loop or CPU): one
 * graphql-ws client and WebSocket per subscriber, each subscribed to `alertRaised` with the
 * dashboard's own document, recording when each alert reaches it on the machine's wall clock
 * (performance.timeOrigin + performance.now(), comparable with the server process's).
 *
 * Protocol over the IPC channel (all messages are FanoutToWorker / FanoutFromWorker):
 *   parent: start            → worker: subscribed (every socket acknowledged, every subscribe sent)
 *   (each alert reaching every subscriber)  → worker: complete { title }
 *   parent: report { titles } → worker: report (receipt times per title, per subscriber)
 *   parent: stop             → worker disposes its clients and exits
 */
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { LiveAlertRaisedDocument } from '../../client-examples/gql/graphql';

export type FanoutToWorker =
  | { kind: 'start'; wsUrl: string; token: string; subscribers: number; connectBatch: number }
  | { kind: 'report'; titles: string[] }
  | { kind: 'stop' };

export type FanoutFromWorker =
  | { kind: 'subscribed'; ms: number }
  | { kind: 'complete'; title: string }
  | {
      kind: 'report';
      /** Per title, per subscriber: receipt time (ms since the epoch), or null if it never came. */
      receipts: Record<string, Array<number | null>>;
      /** Deliveries of a title a subscriber already had (must be 0). */
      duplicates: number;
      /** GraphQL errors, subscription errors and sockets closed after connecting (must be 0). */
      errors: string[];
    }
  | { kind: 'failed'; error: string };

const now = () => performance.timeOrigin + performance.now();

function send(message: FanoutFromWorker): void {
  process.send!(message);
}

async function run(): Promise<void> {
  const clients: Client[] = [];
  const receipts = new Map<string, Array<number | null>>();
  const counts = new Map<string, number>();
  const errors: string[] = [];
  let duplicates = 0;
  let subscribers = 0;
  let stopping = false;

  const receive = (index: number, title: string) => {
    const at = now();
    let row = receipts.get(title);
    if (!row) receipts.set(title, (row = new Array<number | null>(subscribers).fill(null)));
    if (row[index] !== null) {
      duplicates++;
      return;
    }
    row[index] = at;
    const count = (counts.get(title) ?? 0) + 1;
    counts.set(title, count);
    if (count === subscribers) send({ kind: 'complete', title });
  };

  const start = async (job: Extract<FanoutToWorker, { kind: 'start' }>) => {
    subscribers = job.subscribers;
    const query = print(LiveAlertRaisedDocument);
    const began = now();
    // Sockets open in batches (the server's accept backlog is finite), each waiting for connection_ack.
    for (let first = 0; first < job.subscribers; first += job.connectBatch) {
      const batch: Array<Promise<void>> = [];
      for (let index = first; index < Math.min(job.subscribers, first + job.connectBatch); index++) {
        batch.push(
          new Promise<void>((resolve, reject) => {
            let acked = false;
            const client = createClient({
              url: job.wsUrl,
              webSocketImpl: WebSocket,
              connectionParams: { authorization: `Bearer ${job.token}` },
              lazy: true,
              retryAttempts: 0,
              on: {
                connected: () => {
                  acked = true;
                  resolve();
                },
                closed: (event) => {
                  const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
                  if (!acked) reject(new Error(`subscriber ${index} closed before connection_ack: ${code} ${reason ?? ''}`));
                  else if (!stopping) errors.push(`subscriber ${index} socket closed: ${code} ${reason ?? ''}`);
                },
              },
            });
            clients.push(client);
            client.subscribe<{ alertRaised: { title: string } }>(
              { query, variables: { minSeverity: null } },
              {
                next: (result) => {
                  if (result.errors?.length) errors.push(`subscriber ${index}: ${JSON.stringify(result.errors)}`);
                  else if (result.data) receive(index, result.data.alertRaised.title);
                },
                error: (error) => {
                  if (!stopping) errors.push(`subscriber ${index}: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
                },
                complete: () => undefined,
              },
            );
          }),
        );
      }
      await Promise.all(batch);
    }
    send({ kind: 'subscribed', ms: now() - began });
  };

  const stop = async () => {
    stopping = true;
    await Promise.allSettled(clients.map((client) => client.dispose()));
    process.disconnect?.();
  };

  process.on('message', (message: FanoutToWorker) => {
    switch (message.kind) {
      case 'start':
        start(message).catch((error: unknown) => send({ kind: 'failed', error: String((error as Error)?.stack ?? error) }));
        break;
      case 'report':
        send({
          kind: 'report',
          receipts: Object.fromEntries(message.titles.map((title) => [title, receipts.get(title) ?? new Array<number | null>(subscribers).fill(null)])),
          duplicates,
          errors: errors.slice(0, 20),
        });
        break;
      case 'stop':
        void stop();
        break;
    }
  });
  // The parent gone (it crashed or was killed): nothing left to measure.
  process.on('disconnect', () => {
    if (!stopping) void stop().finally(() => process.exit(0));
  });
}

if (require.main === module) {
  if (!process.send) {
    console.error('fanout-subscribers.worker is forked by fanout.bench.js, not run on its own');
    process.exit(64);
  }
  void run();
}
