import Stripe from 'stripe';
import type { FakeStripeStore } from './fake-stripe.store';
import type { FakeEvent } from './fake-stripe.types';

export interface WebhookTarget {
  url?: string;
  secret: string;
  /**
   * Test harnesses only (Stripe has no such thing): a receiver that acknowledges before applying
   * (Recoup's inbox) says here when it has applied, so a delivery resolves after its effect.
   */
  settled?: () => Promise<void>;
}

export interface DeliveryResult {
  eventId: string;
  /** The HTTP status the endpoint answered; 0 when it could not be reached. */
  status: number;
  ok: boolean;
  error?: string;
}

/**
 * Signs and posts events the way Stripe does: the JSON body as sent, a `Stripe-Signature`
 * header `t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">`. The timestamp is wall-clock time even
 * when the fake runs on a test clock, because receivers check it against their own tolerance.
 * https://docs.stripe.com/webhooks#verify-manually
 */
export class WebhookSender {
  private readonly inFlight = new Set<Promise<DeliveryResult>>();
  private readonly aborter = new AbortController();

  constructor(
    private readonly target: WebhookTarget,
    private readonly store: FakeStripeStore,
    private readonly timeoutMs = 10_000,
  ) {}

  get configured(): boolean {
    return Boolean(this.target.url);
  }

  sign(payload: string, timestamp = Math.floor(Date.now() / 1000)): string {
    return Stripe.webhooks.generateTestHeaderString({ payload, secret: this.target.secret, timestamp });
  }

  send(event: FakeEvent): Promise<DeliveryResult> {
    const delivery = this.post(event).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
    return delivery;
  }

  async sendAll(events: FakeEvent[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = [];
    // In order, one at a time: the receiver sees them as Stripe usually (not always) sends them.
    for (const event of events) results.push(await this.send(event));
    return results;
  }

  /** Waits for deliveries started in the background (API-triggered events). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    this.aborter.abort();
  }

  private async post(event: FakeEvent): Promise<DeliveryResult> {
    const url = this.target.url;
    if (!url) return { eventId: event.id, status: 0, ok: false, error: 'no webhook url configured' };
    const payload = JSON.stringify(event, null, 2);
    let result: DeliveryResult;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': this.sign(payload),
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: payload,
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      await response.arrayBuffer();
      if (response.ok) await this.target.settled?.();
      result = { eventId: event.id, status: response.status, ok: response.ok };
    } catch (error) {
      result = { eventId: event.id, status: 0, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    this.record(event, result);
    return result;
  }

  private record(event: FakeEvent, result: DeliveryResult): void {
    this.store.deliveries.push({ ...result, at: new Date() });
    this.store.deliverySuccess.set(event.id, result.ok);
    event.pending_webhooks = result.ok ? 0 : 1;
  }
}
