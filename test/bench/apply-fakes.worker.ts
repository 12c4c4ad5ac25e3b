/**
 * The fake Stripe and fake Telegram of apply.bench.ts, in a child process (fork) so that their work
 * is neither on Recoup's event loop nor in Recoup's process.cpuUsage(). Telegram answers at once,
 * so a success's delivery (invite link, message) runs once, as in production. Messages:
 *   { kind: 'declines', paymentIds }  -> { kind: 'declines', events }: per payment an intent the
 *     fake knows, declined, and its `payment_intent.payment_failed` event (not sent anywhere);
 *   { kind: 'cpu' } -> { kind: 'cpu', user, system, retrieves }: this process's CPU so far (µs) and
 *     the intent reads it answered;
 *   { kind: 'stop' }.
 */
import { startFakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { startFakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';

export const BENCH_BOT_TOKEN = '123456:bench-apply-token';

export type StripeRequest = { kind: 'declines'; paymentIds: string[] } | { kind: 'cpu' } | { kind: 'stop' };
export type StripeReply =
  | { kind: 'ready'; url: string; telegramUrl: string }
  | { kind: 'declines'; events: Array<Record<string, unknown>> }
  | { kind: 'cpu'; user: number; system: number; retrieves: number; telegramCalls: number };

async function main(): Promise<void> {
  const stripe = await startFakeStripe({});
  const telegram = await startFakeTelegram({ botToken: BENCH_BOT_TOKEN, allowAllUsers: true });
  const send = (reply: StripeReply) => process.send!(reply);
  process.on('message', async (request: StripeRequest) => {
    if (request.kind === 'declines') {
      const events: Array<Record<string, unknown>> = [];
      for (const paymentId of request.paymentIds) {
        const { paymentIntent } = await stripe.createPaymentIntentDirect({ amount: 2500, currency: 'usd', metadata: { paymentId }, status: 'requires_payment_method' }, { sendWebhooks: false });
        const { events: emitted } = await stripe.failPaymentIntent(paymentIntent.id, { code: 'card_declined' }, { sendWebhooks: false });
        const failed = emitted.find((e) => e.type === 'payment_intent.payment_failed');
        if (!failed) throw new Error(`no payment_failed event for ${paymentIntent.id}`);
        events.push(structuredClone(failed) as unknown as Record<string, unknown>);
      }
      send({ kind: 'declines', events });
    } else if (request.kind === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ kind: 'cpu', user, system, retrieves: stripe.countRequests('GET', '/v1/payment_intents'), telegramCalls: telegram.calls.length });
    } else {
      void Promise.all([stripe.close(), telegram.close()]).then(() => process.exit(0));
    }
  });
  send({ kind: 'ready', url: stripe.url, telegramUrl: telegram.url });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
