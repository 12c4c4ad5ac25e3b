/** The Telegram bot: API access, how updates arrive, account binding and the outbox. */
import type { Reader } from './reader';

export interface TelegramConfig {
  botToken: string;
  apiUrl: string;
  /** How updates arrive: POST /webhooks/telegram, long polling (development), or not at all. */
  updatesMode: 'webhook' | 'polling' | 'off';
  /** Compared with X-Telegram-Bot-Api-Secret-Token; unset: the webhook route refuses everything. */
  webhookSecret?: string;
  /** Set (webhook mode): setWebhook is called with it at start. */
  webhookUrl?: string;
  /** For deep links; unset: asked of Telegram (getMe) once. */
  botUsername?: string;
  pollTimeoutSec: number;
  bindingTokenTtlHours: number;
  outboxMaxAttempts: number;
  outboxRetryEvery: string;
}

/** Telegram's own rule for secret_token: https://core.telegram.org/bots/api#setwebhook */
const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export function telegramConfig(r: Reader, production: boolean): TelegramConfig {
  return {
    botToken: r.required('TELEGRAM_BOT_TOKEN', production, '000000:sandbox'),
    apiUrl: r.url('TELEGRAM_API_URL', 'https://api.telegram.org')!,
    ...telegramUpdates(r, production),
  };
}

function telegramUpdates(r: Reader, production: boolean) {
  const updatesMode = r.oneOf('TELEGRAM_UPDATES_MODE', ['webhook', 'polling', 'off'] as const, 'webhook');
  const webhookSecret = r.required('TELEGRAM_WEBHOOK_SECRET', production && updatesMode === 'webhook', '') || undefined;
  if (webhookSecret && !SECRET_TOKEN.test(webhookSecret)) r.problems.push('TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -');
  const webhookUrl = r.url('TELEGRAM_WEBHOOK_URL');
  if (webhookUrl && updatesMode === 'webhook' && !webhookSecret) r.problems.push('TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET');
  const botUsername = r.str('TELEGRAM_BOT_USERNAME')?.replace(/^@/, '');
  if (botUsername && !/^[A-Za-z0-9_]{5,32}$/.test(botUsername)) r.problems.push('TELEGRAM_BOT_USERNAME must be a Telegram username (5-32 of A-Z, a-z, 0-9, _)');
  return {
    updatesMode,
    webhookSecret,
    webhookUrl,
    botUsername,
    pollTimeoutSec: r.int('TELEGRAM_POLL_TIMEOUT_SEC', 30, 0, 50),
    bindingTokenTtlHours: r.int('TELEGRAM_BINDING_TOKEN_TTL_HOURS', 168, 1, 24 * 90),
    outboxMaxAttempts: r.int('TELEGRAM_OUTBOX_MAX_ATTEMPTS', 8, 1, 50),
    outboxRetryEvery: r.str('TELEGRAM_OUTBOX_RETRY_EVERY', '1 minute')!,
  };
}
