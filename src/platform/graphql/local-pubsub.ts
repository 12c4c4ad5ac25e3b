/**
 * In-process fan-out for GraphQL subscriptions: a topic is a set of subscribers, a publish is one
 * loop over it, and each subscriber is an async iterator over its own queue. Plain arrays and one
 * pending promise per subscriber: at a thousand dashboards per alert the general-purpose
 * EventTarget + Repeater machinery cost more than executing the event itself.
 */
export class LocalPubSub {
  private readonly topics = new Map<string, Set<TopicSubscriber>>();

  constructor(private readonly maxQueued = 10_000) {}

  /** Every subscriber of the topic receives the same payload object (so work per event can be shared). */
  publish(topic: string, payload: unknown): void {
    const subscribers = this.topics.get(topic);
    if (!subscribers) return;
    for (const subscriber of subscribers) subscriber.push(payload);
  }

  subscribe(topic: string): AsyncIterableIterator<unknown> {
    let subscribers = this.topics.get(topic);
    if (!subscribers) this.topics.set(topic, (subscribers = new Set()));
    const subscriber = new TopicSubscriber(this.maxQueued, () => {
      subscribers.delete(subscriber);
      if (subscribers.size === 0 && this.topics.get(topic) === subscribers) this.topics.delete(topic);
    });
    subscribers.add(subscriber);
    return subscriber;
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }
}

/** Too far behind: its socket is not reading. The subscription ends with this error; the client re-subscribes and re-reads. */
export class SubscriberTooSlowError extends Error {
  constructor(queued: number) {
    super(`Subscription ended: ${queued} events were waiting for this subscriber`);
    this.name = 'SubscriberTooSlowError';
  }
}

class TopicSubscriber implements AsyncIterableIterator<unknown> {
  private queue: unknown[] = [];
  private waiting: { resolve(result: IteratorResult<unknown>): void; reject(error: unknown): void } | null = null;
  private ended = false;
  private failure: Error | null = null;

  constructor(
    private readonly maxQueued: number,
    private readonly unsubscribe: () => void,
  ) {}

  push(value: unknown): void {
    if (this.ended) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else if (this.queue.length >= this.maxQueued) {
      this.fail(new SubscriberTooSlowError(this.queue.length));
    } else {
      this.queue.push(value);
    }
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift(), done: false });
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<unknown>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<unknown>> {
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  private fail(error: Error): void {
    this.failure = error;
    this.queue = [];
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting && this.failure) waiting.reject(this.failure);
    else waiting?.resolve({ value: undefined, done: true });
  }
}
