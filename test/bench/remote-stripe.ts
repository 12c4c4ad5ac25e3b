import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PayoutInput } from '../../src/sandbox/stripe/fake-stripe.money';
import { newId } from '../../src/sandbox/stripe/fake-stripe.objects';
import type { IntentSpec } from '../support/fake-stripe-plant';
import type { StripeSide } from '../support/reconciliation-seed';
import type { WorkerOptions, WorkerRequest } from './reconcile-stripe.worker';

const BATCH = 5000;

/** The scenario's Stripe side in a worker thread (reconcile-stripe.worker.ts); intents go over in batches. */
export class RemoteStripe implements StripeSide {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private queue: Array<{ id: string; spec: IntentSpec; paymentId: string | null }> = [];
  private sending: Array<Promise<unknown>> = [];

  private constructor(private readonly worker: Worker, readonly url: string) {}

  static async start(options: WorkerOptions): Promise<RemoteStripe> {
    const worker = new Worker(join(__dirname, 'reconcile-stripe.worker.js'), { workerData: options, resourceLimits: { maxOldGenerationSizeMb: 4096, maxYoungGenerationSizeMb: 192 } });
    const url = await new Promise<string>((resolve, reject) => {
      worker.once('message', ({ result }: { result: string }) => resolve(result));
      worker.once('error', reject);
    });
    const remote = new RemoteStripe(worker, url);
    worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
      const waiter = remote.waiting.get(id);
      remote.waiting.delete(id);
      if (error) waiter?.reject(new Error(error));
      else waiter?.resolve(result);
    });
    return remote;
  }

  send<T>(request: WorkerRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, request });
    });
  }

  intent(spec: IntentSpec, paymentId: string | null): string {
    const id = newId('pi_');
    this.queue.push({ id, spec, paymentId });
    if (this.queue.length >= BATCH) this.sendQueue();
    return id;
  }

  payout(input: PayoutInput): Promise<string> {
    return this.send({ kind: 'payout', input });
  }

  undeliveredEvent(type: string, intentId: string, created: Date): Promise<string> {
    return this.send({ kind: 'event', type, intentId, created });
  }

  markEventsDelivered(): Promise<void> {
    return this.send({ kind: 'markDelivered' });
  }

  async flush(): Promise<void> {
    this.sendQueue();
    await Promise.all(this.sending.splice(0));
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private sendQueue(): void {
    if (this.queue.length === 0) return;
    this.sending.push(this.send({ kind: 'intents', items: this.queue }));
    this.queue = [];
  }
}
