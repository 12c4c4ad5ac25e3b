import type { StripeErrorBody } from './fake-stripe.errors';

export interface FaultMatch {
  method?: string;
  /** A string matches a path prefix ("/v1/refunds"); a RegExp is tested against the path. */
  path?: RegExp | string;
}

export interface Fault {
  /** HTTP status to answer; default 500 (or 402 for a card_error). */
  status?: number;
  error?: StripeErrorBody;
  /** Wait this long before answering (or before executing, unless afterExecute). */
  delayMs?: number;
  /** Never answer; the socket is destroyed by close(). */
  hang?: boolean;
  /** Execute the operation, then answer the fault instead of its result: "charged, response lost". */
  afterExecute?: boolean;
  /** How many requests this fault applies to; default 1. */
  times?: number;
  /** Sets the `Stripe-Should-Retry` header, which the SDK and our adapter honour. */
  shouldRetry?: boolean;
}

interface ArmedFault {
  match: FaultMatch;
  fault: Fault;
  remaining: number;
}

export class FaultRegistry {
  private armed: ArmedFault[] = [];

  add(match: FaultMatch, fault: Fault): void {
    this.armed.push({ match, fault, remaining: fault.times ?? 1 });
  }

  /** The first armed fault matching the request, consumed by one use. */
  take(method: string, path: string): Fault | undefined {
    const entry = this.armed.find((candidate) => matches(candidate.match, method, path));
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.armed = this.armed.filter((candidate) => candidate !== entry);
    return entry.fault;
  }

  clear(): void {
    this.armed = [];
  }
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? path.startsWith(match.path) : match.path.test(path);
}

export function faultStatus(fault: Fault): number {
  return fault.status ?? (fault.error?.type === 'card_error' ? 402 : 500);
}

export function faultBody(fault: Fault): { error: StripeErrorBody } {
  const status = faultStatus(fault);
  const error = fault.error ?? {
    type: status === 429 ? 'invalid_request_error' : 'api_error',
    code: status === 429 ? 'rate_limit' : undefined,
    message: status === 429 ? 'Request rate limit exceeded.' : 'An unknown error occurred',
  };
  return { error };
}

/** Requests per wall-clock second; the fake's test clock does not move on its own. */
export class RateLimiter {
  private windowStart = 0;
  private count = 0;

  constructor(private readonly perSecond?: number) {}

  allow(): boolean {
    if (!this.perSecond) return true;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    return this.count <= this.perSecond;
  }
}
