import { AppError } from '../../platform/shared/errors';

export type TelegramFailure =
  | 'NETWORK'
  | 'TIMEOUT'
  | 'RATE_LIMITED'
  | 'SERVER'
  | 'BOT_BLOCKED'
  | 'CANT_INITIATE'
  | 'CHAT_NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'BAD_REQUEST';

/**
 * A Bot API failure in our terms. Network trouble, 5xx and 429 are worth retrying; a user who
 * blocked the bot or a chat that does not exist is not. CANT_INITIATE ("bot can't initiate
 * conversation") means the customer has not opened a chat with the bot yet: wait for them.
 */
export class TelegramError extends AppError {
  constructor(
    readonly failure: TelegramFailure,
    readonly description: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
    readonly method: string | null = null,
  ) {
    super('GATEWAY_ERROR', `Telegram ${method ?? ''}: ${description}`.replace('  ', ' '), { failure, retryable });
  }
}

export function classifyTelegramError(method: string, status: number, description: string, retryAfterSeconds?: number): TelegramError {
  const text = description.toLowerCase();
  if (status === 429) return new TelegramError('RATE_LIMITED', description, true, (retryAfterSeconds ?? 1) * 1000, method);
  if (status >= 500) return new TelegramError('SERVER', description, true, null, method);
  if (status === 401) return new TelegramError('UNAUTHORIZED', description, false, null, method);
  if (status === 403 && text.includes("can't initiate")) return new TelegramError('CANT_INITIATE', description, false, null, method);
  if (status === 403 && (text.includes('blocked') || text.includes('deactivated'))) return new TelegramError('BOT_BLOCKED', description, false, null, method);
  if (status === 403) return new TelegramError('FORBIDDEN', description, false, null, method);
  if (status === 400 && text.includes('chat not found')) return new TelegramError('CHAT_NOT_FOUND', description, false, null, method);
  return new TelegramError('BAD_REQUEST', description, false, null, method);
}
