import type { Logger } from '../../platform/observability/logger';
import { retryDelayMs } from '../../platform/shared/backoff';
import type { TelegramClient } from './telegram.client';
import { ALLOWED_UPDATES, type TelegramUpdate } from './telegram-update';

/** Stores and applies one update; resolves only once it is committed. */
export type UpdateSink = (update: TelegramUpdate) => Promise<void>;

/**
 * Long polling (getUpdates), for development where Telegram cannot reach a webhook. The offset
 * confirms updates to Telegram, so it only moves past an update once the sink has committed it:
 * after a crash or a failure Telegram hands the unconfirmed ones over again and the intake's
 * dedupe (gateway + update_id) makes that harmless. That is also why the offset lives in memory
 * only: Telegram keeps every update we have not confirmed.
 * https://core.telegram.org/bots/api#getupdates
 */
export class UpdatesPoller {
  private offset = 0;
  private failures = 0;
  private running: Promise<void> | null = null;
  private readonly aborter = new AbortController();

  constructor(
    private readonly telegram: TelegramClient,
    private readonly sink: UpdateSink,
    private readonly timeoutSec: number,
    private readonly logger: Logger,
  ) {}

  get nextOffset(): number {
    return this.offset;
  }

  start(): void {
    if (this.running) return;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.aborter.abort();
    await this.running;
  }

  /** One getUpdates round trip; exported for tests and for the loop. */
  async pollOnce(): Promise<number> {
    const updates = await this.telegram.getUpdates({ offset: this.offset, timeoutSec: this.timeoutSec, allowedUpdates: ALLOWED_UPDATES, signal: this.aborter.signal });
    for (const update of updates) {
      await this.sink(update);
      this.offset = Math.max(this.offset, update.update_id + 1);
    }
    return updates.length;
  }

  private async loop(): Promise<void> {
    // A webhook left over from another mode makes getUpdates answer 409; polling means no webhook.
    await this.telegram.deleteWebhook().catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'deleteWebhook failed'));
    while (!this.aborter.signal.aborted) {
      try {
        await this.pollOnce();
        this.failures = 0;
      } catch (error) {
        if (this.aborter.signal.aborted) break;
        this.failures += 1;
        const delay = retryDelayMs(this.failures, { baseMs: 500, capMs: 30_000, jitter: 0.2 });
        this.logger.warn({ err: (error as Error).message, offset: this.offset, retryInMs: delay }, 'getUpdates round failed; the same updates come again');
        await this.pause(delay);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.aborter.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
