import express, { type Request, type Response, type Router } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IntakeResult } from './webhook-intake.service';
import type { Logger } from '../platform/observability/logger';
import { isTelegramUpdate, type TelegramUpdate } from '../integrations/telegram/telegram-update';
import type { Metrics } from '../platform/observability/metrics';

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** Constant-time on digests, so neither the content nor the length of the secret leaks. */
function sameSecret(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * POST /webhooks/telegram. Telegram proves itself with the secret_token we gave setWebhook, sent
 * back in X-Telegram-Bot-Api-Secret-Token (https://core.telegram.org/bots/api#setwebhook); a
 * wrong or missing one gets 401 before anything is read or stored. Then, as the Stripe route:
 * the update is committed to the inbox and only then 200 (it is applied from there); an update that
 * could not be stored answers 503 and Telegram delivers it again. Without a configured secret every request is refused.
 */
/** What the route needs of the Telegram updates feature: storing an update in the inbox. */
export interface TelegramUpdateReceiver {
  receive(update: TelegramUpdate): Promise<IntakeResult>;
}

export function telegramWebhookRouter(deps: { secret: string | undefined; updates: TelegramUpdateReceiver; metrics: Metrics; logger: Logger }): Router {
  const router = express.Router();
  const checkSecret = (req: Request, res: Response, next: () => void) => {
    if (sameSecret(req.header(SECRET_HEADER), deps.secret)) return next();
    deps.metrics.webhookEvent('telegram', null, 'bad_signature');
    deps.logger.warn({ requestId: res.locals.requestId, route: 'telegram-webhook' }, 'rejected a Telegram update: wrong or missing secret token');
    res.status(401).json({ error: 'Wrong or missing secret token' });
  };
  router.post('/webhooks/telegram', checkSecret, express.json({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
    const log = deps.logger.child({ requestId: res.locals.requestId, route: 'telegram-webhook' });
    if (!isTelegramUpdate(req.body)) {
      res.status(400).json({ error: 'Not a Telegram update: update_id is missing' });
      return;
    }
    const update = req.body;
    try {
      const result = await deps.updates.receive(update);
      log.info({ updateId: update.update_id, status: result.status }, 'telegram update');
      res.status(200).json({ received: true, status: result.status });
    } catch (error) {
      log.error({ err: error, updateId: update.update_id }, 'telegram update not stored; Telegram will redeliver');
      res.status(503).json({ error: 'Update not stored; please retry' });
    }
  });
  return router;
}
