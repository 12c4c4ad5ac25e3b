import { loadConfig } from '../../src/platform/config';
import type { Env } from '../../src/platform/config/reader';

/** A production environment with every required value set and valid. */
export const PRODUCTION_ENV: Env = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://recoup@127.0.0.1:5432/recoup',
  STRIPE_SECRET_KEY: 'sk_live_0123456789',
  STRIPE_WEBHOOK_SECRET: 'whsec_0123456789',
  TELEGRAM_BOT_TOKEN: '123456:ABCDEF',
  TELEGRAM_WEBHOOK_SECRET: 'secret-token',
  API_KEYS: 'ops:ADMIN:0123456789abcdef0123',
};

/** Every variable src/platform/config/ reads, in development and in production (the Reader records each name it is asked for). */
export function variablesRead(): Set<string> {
  const read = new Set<string>();
  loadConfig({}, read);
  loadConfig(PRODUCTION_ENV, read);
  return read;
}
