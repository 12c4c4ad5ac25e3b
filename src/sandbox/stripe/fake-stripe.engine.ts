import { systemClock, type Clock } from '../../platform/shared/clock';
import { newEvent } from './fake-stripe.objects';
import { FakeStripeStore } from './fake-stripe.store';
import type { FakeEvent, StripeObject } from './fake-stripe.types';

export interface ProgrammedDecline {
  code: string;
  declineCode?: string;
  /** Stripe's advice_code: do_not_try_again, try_again_later, confirm_card_data. */
  adviceCode?: string;
}

export interface RequestInfo {
  id: string | null;
  idempotency_key: string | null;
}

/**
 * The shared state every fake operation works on: the store, the clock, queued declines and
 * the events an operation produced. Operations are synchronous, so "the events of the current
 * operation" is a plain array swapped in by `collect`.
 */
export class FakeStripeEngine {
  readonly store = new FakeStripeStore();
  readonly declines: ProgrammedDecline[] = [];
  baseUrl = '';
  hasWebhookEndpoint = false;
  private collected: FakeEvent[] | null = null;
  private request: RequestInfo = { id: null, idempotency_key: null };

  constructor(readonly clock: Clock = systemClock) {}

  /** Unix seconds on the fake's clock, which is what every `created` holds. */
  now(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  payUrl(sessionId: string): string {
    return `${this.baseUrl}/pay/${sessionId}`;
  }

  emit(type: string, object: StripeObject, previousAttributes?: Record<string, unknown>): FakeEvent {
    const event = newEvent({
      type,
      object,
      created: this.now(),
      pendingWebhooks: this.hasWebhookEndpoint ? 1 : 0,
      request: this.request,
      previousAttributes,
    });
    this.store.events.insert(event);
    // With no endpoint there is nothing to deliver: Stripe counts such an event as delivered.
    if (!this.hasWebhookEndpoint) this.store.deliverySuccess.set(event.id, true);
    this.collected?.push(event);
    return event;
  }

  /** Runs an operation and returns what it produced along with the events it emitted. */
  collect<T>(operation: () => T, request?: RequestInfo): { result: T; events: FakeEvent[] } {
    const outer = this.collected;
    const outerRequest = this.request;
    const events: FakeEvent[] = [];
    this.collected = events;
    if (request) this.request = request;
    try {
      return { result: operation(), events };
    } finally {
      this.collected = outer;
      this.request = outerRequest;
      outer?.push(...events);
    }
  }

  takeDecline(): ProgrammedDecline | undefined {
    return this.declines.shift();
  }

  reset(): void {
    this.store.clear();
    this.declines.length = 0;
  }
}
