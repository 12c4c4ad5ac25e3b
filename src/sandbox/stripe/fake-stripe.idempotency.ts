import { FakeStripeError } from './fake-stripe.errors';
import type { ApiResult } from './fake-stripe.types';

interface Entry {
  method: string;
  path: string;
  fingerprint: string;
  /** undefined while the first request is still executing. */
  result?: ApiResult & { requestId: string };
}

export type IdempotencyCheck =
  | { kind: 'execute'; save: (result: ApiResult, requestId: string) => void; release: () => void }
  | { kind: 'replay'; result: ApiResult & { requestId: string } };

/**
 * Stripe's v1 idempotency layer: the first response for a key is saved and replayed (same
 * status and body, including 500s); a key reused on another endpoint or with other parameters
 * is an idempotency_error; a key whose first request is still running answers 409.
 * https://docs.stripe.com/api/idempotent_requests
 */
export class IdempotencyLayer {
  private readonly entries = new Map<string, Entry>();

  check(key: string, method: string, path: string, params: unknown): IdempotencyCheck {
    const fingerprint = stableStringify(params);
    const existing = this.entries.get(key);
    if (existing) {
      if (existing.method !== method || existing.path !== path) throw FakeStripeError.idempotencyMismatch(key, 'endpoint');
      if (existing.fingerprint !== fingerprint) throw FakeStripeError.idempotencyMismatch(key, 'parameters');
      if (!existing.result) throw FakeStripeError.idempotencyInUse(key);
      return { kind: 'replay', result: existing.result };
    }
    const entry: Entry = { method, path, fingerprint };
    this.entries.set(key, entry);
    return {
      kind: 'execute',
      save: (result, requestId) => {
        entry.result = { ...result, requestId };
      },
      // Nothing was executed (validation failed, or a fault struck first): the key stays free.
      release: () => {
        if (!entry.result && this.entries.get(key) === entry) this.entries.delete(key);
      },
    };
  }

  clear(): void {
    this.entries.clear();
  }
}

/** JSON with sorted keys, so the same parameters in another order compare equal. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
