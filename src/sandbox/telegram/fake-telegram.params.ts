import { TelegramError } from './fake-telegram.errors';

/**
 * Bot API parameters arrive as JSON values, or as strings from a query string or form body, where
 * arrays and objects are JSON-serialized. Each reader accepts both and answers Telegram's wording.
 */
export type TgParams = Record<string, unknown>;

export function optInt(params: TgParams, name: string): number | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) throw TelegramError.badRequest(`invalid ${name} specified`);
  return parsed;
}

export function reqInt(params: TgParams, name: string): number {
  const value = optInt(params, name);
  if (value === undefined) throw TelegramError.badRequest(`${name} is empty`);
  return value;
}

export function optStr(params: TgParams, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw TelegramError.badRequest(`invalid ${name} specified`);
}

export function optBool(params: TgParams, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  return value === true || value === 'true' || value === '1' || value === 1;
}

export function optStringArray(params: TgParams, name: string): string[] | undefined {
  let value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      throw TelegramError.badRequest(`can't parse ${name} JSON array`);
    }
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw TelegramError.badRequest(`can't parse ${name} JSON array`);
  }
  return value;
}

/** `chat_id` is an integer or "@username". */
export function chatIdParam(params: TgParams, name = 'chat_id'): number | string {
  const value = params[name];
  if (typeof value === 'string' && value.startsWith('@')) return value;
  return reqInt(params, name);
}
