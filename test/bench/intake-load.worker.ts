/**
 * The load generator of intake.bench.ts. It runs on a worker thread so that building, signing and
 * timing requests does not share an event loop with the server being measured.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';

export interface LoadJob {
  url: string;
  /** One event per payment, in order; the run stops when they are used up or time is over. */
  paymentIds: string[];
  /** Event and intent ids are `evt_<prefix>_<n>`; keep prefixes the same length for equal bodies. */
  prefix: string;
  webhookSecret: string;
  seconds: number;
  concurrency: number;
  requestTimeoutMs: number;
}

export interface LoadResult {
  sent: number;
  accepted: number;
  /** Non-2xx answers and transport errors, by status code or error code. */
  failures: Record<string, number>;
  latenciesMs: Float64Array<ArrayBuffer>;
  elapsedMs: number;
  ranOutOfPayments: boolean;
}

export function eventBody(prefix: string, n: number, paymentId: string): string {
  return JSON.stringify({
    id: `evt_${prefix}_${n}`,
    object: 'event',
    api_version: '2025-03-31.basil',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'payment_intent.succeeded',
    data: {
      object: {
        id: `pi_${prefix}_${n}`,
        object: 'payment_intent',
        amount: 2500,
        amount_received: 2500,
        currency: 'usd',
        status: 'succeeded',
        capture_method: 'automatic',
        latest_charge: `ch_${prefix}_${n}`,
        last_payment_error: null,
        metadata: { paymentId },
      },
    },
  });
}

function post(agent: http.Agent, url: URL, body: string, signature: string, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'stripe-signature': signature } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'ERESPONSE'));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'EREQUEST'));
    req.end(body);
  });
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const signer = new FakeStripe({ webhookSecret: job.webhookSecret });
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const url = new URL(job.url);
  const latencies = new Float64Array(job.paymentIds.length);
  const failures: Record<string, number> = {};
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  const deadline = started + job.seconds * 1000;

  // Each lane has one request in flight; a lane stops when time is over or the payments run out.
  const lane = async () => {
    while (performance.now() < deadline && next < job.paymentIds.length) {
      const n = next++;
      const body = eventBody(job.prefix, n, job.paymentIds[n]);
      const signature = signer.signPayload(body);
      const t0 = performance.now();
      const status = await post(agent, url, body, signature, job.requestTimeoutMs);
      latencies[n] = performance.now() - t0;
      if (status === 200) accepted++;
      else failures[String(status)] = (failures[String(status)] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, lane));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  await signer.close();
  return { sent: next, accepted, failures, latenciesMs: latencies.slice(0, next), elapsedMs, ranOutOfPayments: next >= job.paymentIds.length };
}

if (parentPort && workerData) {
  const port = parentPort;
  runLoad(workerData as LoadJob).then(
    (result) => port.postMessage(result, [result.latenciesMs.buffer]),
    (error: unknown) => port.postMessage({ error: String((error as Error)?.stack ?? error) }),
  );
}
