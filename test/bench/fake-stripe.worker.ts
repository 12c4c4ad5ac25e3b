/**
 * The fake Stripe of retries.bench.ts on a worker thread: in production Stripe's work is not on
 * our event loop, so the bench should not put it there either. Every PaymentIntent creation
 * answers after `delayMs`; the parent asks for the number of intents at the end.
 */
import { setMaxListeners } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { startFakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';

export interface FakeStripeWorkerData {
  delayMs: number;
}

export type FakeStripeWorkerMessage = { kind: 'ready'; url: string } | { kind: 'intents'; total: number; succeeded: number };

async function main(): Promise<void> {
  const { delayMs } = workerData as FakeStripeWorkerData;
  // Every delayed answer listens on the fake's abort signal; thousands are in flight at once.
  setMaxListeners(0);
  const stripe = await startFakeStripe();
  stripe.failNext({ method: 'POST', path: '/v1/payment_intents' }, { delayMs, times: Number.POSITIVE_INFINITY });
  parentPort!.on('message', (message: string) => {
    if (message === 'count') {
      const intents = stripe.store.paymentIntents.newestFirst();
      parentPort!.postMessage({ kind: 'intents', total: intents.length, succeeded: intents.filter((pi) => pi.status === 'succeeded').length } satisfies FakeStripeWorkerMessage);
    }
    if (message === 'stop') void stripe.close().then(() => process.exit(0));
  });
  parentPort!.postMessage({ kind: 'ready', url: stripe.url } satisfies FakeStripeWorkerMessage);
}

void main();
