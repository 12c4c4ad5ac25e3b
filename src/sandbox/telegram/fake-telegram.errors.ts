import type { TelegramFault } from './fake-telegram.types';

export interface TgErrorBody {
  ok: false;
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

/** A Bot API failure; the HTTP status equals `error_code`, as the real API answers. */
export class TelegramError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
    this.name = 'TelegramError';
  }

  body(): TgErrorBody {
    const body: TgErrorBody = { ok: false, error_code: this.errorCode, description: this.description };
    if (this.retryAfter !== undefined) body.parameters = { retry_after: this.retryAfter };
    return body;
  }

  static badRequest(reason: string): TelegramError {
    return new TelegramError(400, `Bad Request: ${reason}`);
  }

  static forbidden(reason: string): TelegramError {
    return new TelegramError(403, `Forbidden: ${reason}`);
  }

  static tooManyRequests(retryAfter: number): TelegramError {
    return new TelegramError(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
  }

  static conflict(reason: string): TelegramError {
    return new TelegramError(409, `Conflict: ${reason}`);
  }

  static fromFault(fault: TelegramFault): TelegramError {
    const code = fault.errorCode ?? 500;
    if (code === 429) {
      const retryAfter = fault.retryAfter ?? 1;
      return new TelegramError(429, fault.description ?? `Too Many Requests: retry after ${retryAfter}`, retryAfter);
    }
    return new TelegramError(code, fault.description ?? DEFAULT_DESCRIPTIONS[code] ?? 'Internal Server Error', fault.retryAfter);
  }
}

const DEFAULT_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

interface ArmedFault {
  method: string;
  fault: TelegramFault;
  /** Infinity for failAll. */
  remaining: number;
}

/** failNext/failAll by method name, '*' for every method; the earliest armed match wins. */
export class TelegramFaults {
  private armed: ArmedFault[] = [];

  add(method: string, fault: TelegramFault, persistent: boolean): void {
    this.armed.push({ method, fault, remaining: persistent ? Infinity : (fault.times ?? 1) });
  }

  take(method: string): TelegramFault | undefined {
    const entry = this.armed.find((candidate) => candidate.method === '*' || candidate.method === method);
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.armed = this.armed.filter((candidate) => candidate !== entry);
    return entry.fault;
  }

  clear(): void {
    this.armed = [];
  }
}

/** Calls per wall-clock second; beyond it Telegram answers 429 with retry_after. */
export class TelegramRateLimiter {
  private windowStart = 0;
  private count = 0;

  constructor(private readonly perSecond?: number) {}

  check(): void {
    if (!this.perSecond) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    if (this.count > this.perSecond) throw TelegramError.tooManyRequests(1);
  }
}
