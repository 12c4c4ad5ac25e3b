import type {
  CheckoutIntentData,
  FakeCharge,
  FakeCheckoutSession,
  FakeDispute,
  FakeEvent,
  FakePaymentIntent,
  FakePayout,
  FakeRefund,
  StripeObject,
} from './fake-stripe.types';
import { FakeStripeError } from './fake-stripe.errors';

/** One in-memory collection. Map keeps insertion order, which breaks ties between equal `created`. */
export class Table<T extends StripeObject> {
  private readonly rows = new Map<string, T>();
  private sorted: T[] | null = null;

  constructor(readonly objectName: string) {}

  insert(row: T): T {
    this.sorted = null;
    this.rows.set(row.id, row);
    return row;
  }

  find(id: string): T | undefined {
    return this.rows.get(id);
  }

  get(id: string, param = 'id'): T {
    const row = this.rows.get(id);
    if (!row) throw FakeStripeError.resourceMissing(this.objectName, id, param);
    return row;
  }

  /**
   * Newest first, as Stripe lists: by `created`, then latest inserted first within a second.
   * Cached between inserts, because every list page asks and sorting 100k rows per page would
   * make the fake, not the client, the subject of a benchmark. Code that rewrites `created` on a
   * stored object calls touch(). Callers must not mutate the array.
   */
  newestFirst(): T[] {
    this.sorted ??= [...this.rows.values()].reverse().sort((a, b) => b.created - a.created);
    return this.sorted;
  }

  /** A stored object's `created` was changed: the order must be worked out again. */
  touch(): void {
    this.sorted = null;
  }

  get size(): number {
    return this.rows.size;
  }

  clear(): void {
    this.sorted = null;
    this.rows.clear();
  }
}

/** What the fake knows about an event beyond its public shape: webhook delivery. */
export interface EventDelivery {
  eventId: string;
  status: number;
  ok: boolean;
  at: Date;
  error?: string;
}

export class FakeStripeStore {
  readonly sessions = new Table<FakeCheckoutSession>('checkout.session');
  readonly paymentIntents = new Table<FakePaymentIntent>('payment_intent');
  readonly charges = new Table<FakeCharge>('charge');
  readonly refunds = new Table<FakeRefund>('refund');
  readonly payouts = new Table<FakePayout>('payout');
  readonly disputes = new Table<FakeDispute>('dispute');
  readonly events = new Table<FakeEvent>('event');
  /** undefined: not attempted yet (or no endpoint); true/false: outcome of the last delivery. */
  readonly deliverySuccess = new Map<string, boolean>();
  readonly deliveries: EventDelivery[] = [];
  /** A session's payment_intent_data, which Stripe does not echo on the session itself. */
  readonly checkoutIntentData = new Map<string, CheckoutIntentData>();

  private readonly byPrefix: ReadonlyArray<[string, Table<StripeObject>]> = [
    ['cs_', this.sessions as unknown as Table<StripeObject>],
    ['pi_', this.paymentIntents as unknown as Table<StripeObject>],
    ['ch_', this.charges as unknown as Table<StripeObject>],
    ['re_', this.refunds as unknown as Table<StripeObject>],
    ['po_', this.payouts as unknown as Table<StripeObject>],
    ['dp_', this.disputes as unknown as Table<StripeObject>],
    ['evt_', this.events as unknown as Table<StripeObject>],
  ];

  /** Any object by id, for `expand[]`. */
  lookup(id: string): StripeObject | undefined {
    const entry = this.byPrefix.find(([prefix]) => id.startsWith(prefix));
    return entry?.[1].find(id);
  }

  clear(): void {
    for (const [, table] of this.byPrefix) table.clear();
    this.deliverySuccess.clear();
    this.deliveries.length = 0;
    this.checkoutIntentData.clear();
  }
}

/**
 * Replaces id strings by their objects along each `expand` path ("payment_intent",
 * "latest_charge", "data.payment_intent", "payment_intent.latest_charge"), on a copy.
 */
export function expandObject(value: unknown, paths: string[], store: FakeStripeStore): unknown {
  if (paths.length === 0 || typeof value !== 'object' || value === null) return value;
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const path of paths) expandPath(copy, path.split('.'), store);
  return copy;
}

function expandPath(target: Record<string, unknown>, segments: string[], store: FakeStripeStore): void {
  const [head, ...rest] = segments;
  if (head === undefined) return;
  const current = target[head];
  if (head === 'data' && Array.isArray(current)) {
    for (const item of current) {
      if (typeof item === 'object' && item !== null) expandPath(item as Record<string, unknown>, rest, store);
    }
    return;
  }
  let next = current;
  if (typeof current === 'string') {
    const found = store.lookup(current);
    if (found) next = target[head] = structuredClone(found);
  }
  if (rest.length > 0 && typeof next === 'object' && next !== null) {
    expandPath(next as Record<string, unknown>, rest, store);
  }
}
