import { setTimeout as sleep } from 'node:timers/promises';
import { toGatewayError } from '../integrations/stripe/gateway.errors';
import type { GatewayListQuery, GatewayPage } from '../integrations/stripe/payment-gateway';
import { retryDelayMs } from '../platform/shared/backoff';

export interface ListerSettings {
  maxRequestsPerSecond: number;
  maxRetries: number;
  concurrency: number;
}

export interface CallMeter {
  calls: number;
  rateLimited: number;
}

export interface TimeRange {
  start: Date;
  end: Date;
}

const PAGE_SIZE = 100;
const RETRY_BACKOFF = { baseMs: 500, capMs: 15_000, jitter: 0.3 };

/**
 * Splits [start, end) into `count` consecutive ranges on whole seconds (Stripe's `created` is in
 * seconds), so paging them in parallel neither misses nor repeats an object.
 */
export function splitRange(range: TimeRange, count: number): TimeRange[] {
  const from = Math.floor(range.start.getTime() / 1000);
  const to = Math.floor(range.end.getTime() / 1000);
  const parts = Math.max(1, Math.min(count, to - from));
  const bounds = Array.from({ length: parts + 1 }, (_, i) => from + Math.round(((to - from) * i) / parts));
  return bounds.slice(0, -1).map((s, i) => ({ start: new Date(s * 1000), end: new Date(bounds[i + 1] * 1000) }));
}

/**
 * Every request the reconciliation makes to the gateway goes through here: counted, spaced to our
 * own ceiling (so a run never takes the account's whole rate limit from checkout), and retried with
 * backoff on a 429, 409, 5xx or connection error up to a bound. A 429 pushes every caller back,
 * not only the one that got it. Lists are paged with `starting_after`, 100 at a time — what the
 * SDK's autoPagingEach does — so a page that fails is retried where it stood rather than the
 * whole range, and each request is counted.
 */
export class GatewayLister {
  readonly meter: CallMeter = { calls: 0, rateLimited: 0 };
  private nextSlotAt = 0;

  constructor(private readonly settings: ListerSettings) {}

  async call<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.slot();
      this.meter.calls++;
      try {
        return await request();
      } catch (error) {
        const failure = toGatewayError(error);
        if (failure.statusCode === 429) this.meter.rateLimited++;
        if (!failure.retryable || attempt > this.settings.maxRetries) throw failure;
        const delay = retryDelayMs(attempt, RETRY_BACKOFF);
        if (failure.statusCode === 429) this.nextSlotAt = Math.max(this.nextSlotAt, Date.now() + delay);
        await sleep(delay);
      }
    }
  }

  /**
   * Pages through every object created in `range`, split into `slices` ranges paged in parallel
   * (at most `concurrency` at once). `onPage` sees each page once, newest first within a range.
   */
  async each<T extends { id: string }>(
    list: (query: GatewayListQuery) => Promise<GatewayPage<T>>,
    range: TimeRange,
    slices: number,
    onPage: (items: T[]) => Promise<void>,
  ): Promise<void> {
    const ranges = splitRange(range, slices);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < ranges.length && !failed) {
        const part = ranges[next++];
        let after: string | null = null;
        do {
          const query: GatewayListQuery = { createdGte: part.start, createdLt: part.end, startingAfter: after, limit: PAGE_SIZE };
          const page = await this.call(() => list(query)).catch((error: unknown) => {
            failed = true; // the other ranges stop at their next page: the check has failed
            throw error;
          });
          if (page.data.length > 0) await onPage(page.data);
          after = page.hasMore && page.data.length > 0 && !failed ? page.data[page.data.length - 1].id : null;
        } while (after);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, ranges.length) }, worker));
  }

  /**
   * Pages through a list paged by an opaque cursor (Cashfree's), one page at a time: each page is
   * a call (counted, spaced, retried where it stood), `onPage` sees it once. A page that answers
   * the cursor it was asked with ends the list rather than looping on it.
   */
  async eachCursor<T>(list: (cursor: string | null, limit: number) => Promise<{ data: T[]; cursor: string | null }>, onPage: (items: T[]) => Promise<void>, limit = PAGE_SIZE): Promise<void> {
    let cursor: string | null = null;
    do {
      const asked: string | null = cursor;
      const page: { data: T[]; cursor: string | null } = await this.call(() => list(asked, limit));
      if (page.data.length > 0) await onPage(page.data);
      cursor = page.data.length > 0 && page.cursor !== asked ? page.cursor : null;
    } while (cursor);
  }

  private async slot(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = at + 1000 / this.settings.maxRequestsPerSecond;
    if (at > now) await sleep(at - now);
  }
}

/** The same gateway with every call counted, spaced and retried like the lists (writes carry idempotency keys, so a retry is safe). */
export function meteredGateway<G extends object>(gateway: G, lister: GatewayLister): G {
  return new Proxy(gateway, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => lister.call(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}
