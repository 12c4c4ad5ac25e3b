/**
 * The reconcile bench's fake Stripe, in a worker thread of its own: its heap (100k intents and
 * charges) and its per-page work are not Recoup's, as they would not be against the real Stripe.
 * Seeding requests arrive as messages; every answer carries the request's id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PayoutInput } from '../../src/sandbox/stripe/fake-stripe.money';
import { startFakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { ManualClock } from '../../src/platform/shared/clock';
import { plantIntent, unix, type IntentSpec } from '../support/fake-stripe-plant';

export type WorkerRequest =
  | { kind: 'intents'; items: Array<{ id: string; spec: IntentSpec; paymentId: string | null }> }
  | { kind: 'payout'; input: PayoutInput }
  | { kind: 'event'; type: string; intentId: string; created: Date }
  | { kind: 'markDelivered' }
  | { kind: 'setWebhookUrl'; url: string }
  | { kind: 'clock'; at: Date }
  | { kind: 'stats' };

export interface WorkerOptions {
  webhookSecret: string;
  rateLimitPerSecond: number;
  clockAt: Date;
}

async function main(): Promise<void> {
  const options = workerData as WorkerOptions;
  const clock = new ManualClock(options.clockAt);
  const fake = await startFakeStripe({ webhookSecret: options.webhookSecret, clock, rateLimitPerSecond: options.rateLimitPerSecond });
  const handle = async (request: WorkerRequest): Promise<unknown> => {
    switch (request.kind) {
      case 'intents':
        for (const item of request.items) plantIntent(fake, item.spec, item.paymentId, item.id);
        return request.items.length;
      case 'payout':
        return (await fake.createPayout(request.input, { sendWebhooks: false })).payout.id;
      case 'event':
        return fake.createEvent(request.type, fake.store.paymentIntents.get(request.intentId), { deliverySuccess: false, created: unix(request.created) }).id;
      case 'markDelivered':
        return fake.markEventsDelivered();
      case 'setWebhookUrl':
        return fake.setWebhookUrl(request.url);
      case 'clock':
        return clock.set(request.at);
      case 'stats':
        return { intents: fake.store.paymentIntents.size, payouts: fake.store.payouts.size, requests: fake.requests.length };
    }
  };
  parentPort!.on('message', ({ id, request }: { id: number; request: WorkerRequest }) => {
    handle(request).then(
      (result) => parentPort!.postMessage({ id, result }),
      (error: unknown) => parentPort!.postMessage({ id, error: String(error) }),
    );
  });
  parentPort!.postMessage({ id: 0, result: fake.url });
}

void main();
