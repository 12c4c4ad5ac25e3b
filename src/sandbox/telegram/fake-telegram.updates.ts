import { TelegramError } from './fake-telegram.errors';
import type { TgUpdate, TgUpdateBody, TgWebhookInfo } from './fake-telegram.types';

/**
 * Telegram leaves these out unless a bot lists them in allowed_updates, so a bot that forgets
 * to ask for chat_member never hears about joins. https://core.telegram.org/bots/api#getupdates
 */
const OPT_IN_TYPES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

interface Webhook {
  url: string;
  secretToken?: string;
  maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

interface Poller {
  resolve: (updates: TgUpdate[]) => void;
  reject: (error: TelegramError) => void;
  timer: NodeJS.Timeout;
  offset: number;
  limit: number;
}

export interface GetUpdatesInput {
  offset?: number;
  limit?: number;
  timeoutSec?: number;
  allowedUpdates?: string[];
}

/** Pending updates, served by long polling or posted to the webhook; update ids only grow. */
export class UpdateQueue {
  private pending: TgUpdate[] = [];
  private nextUpdateId = 100_000_001;
  private allowedUpdates: string[] | undefined;
  private webhook: Webhook | undefined;
  private poller: Poller | undefined;
  private readonly aborter = new AbortController();
  /**
   * Test harnesses only (Telegram has no such thing): a receiver that acknowledges before applying
   * (Recoup's inbox) says here when it has applied, so a webhook delivery resolves after its effect.
   */
  settled: (() => Promise<void>) | undefined;

  constructor(private readonly now: () => number) {}

  /** Queues an update; answers the webhook's HTTP status, or null when nothing was posted. */
  async push(body: TgUpdateBody): Promise<{ update: TgUpdate; status: number | null }> {
    const update: TgUpdate = { update_id: this.nextUpdateId++, ...body };
    if (!this.isAllowed(update)) return { update, status: null };
    this.pending.push(update);
    if (this.webhook) return { update, status: await this.deliver(update, this.webhook) };
    this.wakePoller();
    return { update, status: null };
  }

  /** Posts every pending update again, as Telegram retries a failing webhook. */
  async retryWebhook(): Promise<number[]> {
    const statuses: number[] = [];
    for (const update of [...this.pending]) if (this.webhook) statuses.push(await this.deliver(update, this.webhook));
    return statuses;
  }

  getUpdates(input: GetUpdatesInput): Promise<TgUpdate[]> {
    if (this.webhook) {
      throw TelegramError.conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    if (input.allowedUpdates) this.allowedUpdates = input.allowedUpdates;
    const offset = input.offset ?? 0;
    const limit = Math.min(Math.max(input.limit ?? 100, 1), 100);
    this.confirm(offset);
    const ready = this.select(offset, limit);
    if (ready.length > 0 || !input.timeoutSec) return Promise.resolve(ready);
    // A second long poll ends the first one, which is how Telegram tells two bot instances apart.
    this.endPoller(TelegramError.conflict('terminated by other getUpdates request; make sure that only one bot instance is running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.finishPoll([]), Math.min(input.timeoutSec ?? 0, 50) * 1000);
      this.poller = { resolve, reject, timer, offset, limit };
    });
  }

  setWebhook(url: string, options: { secretToken?: string; allowedUpdates?: string[]; dropPending?: boolean; maxConnections?: number }): void {
    if (options.dropPending) this.pending = [];
    if (options.allowedUpdates) this.allowedUpdates = options.allowedUpdates;
    this.webhook = { url, secretToken: options.secretToken, maxConnections: options.maxConnections ?? 40 };
    this.finishPoll([]);
  }

  deleteWebhook(dropPending: boolean): boolean {
    const existed = Boolean(this.webhook);
    this.webhook = undefined;
    if (dropPending) this.pending = [];
    return existed;
  }

  webhookInfo(): TgWebhookInfo {
    const info: TgWebhookInfo = { url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: this.pending.length };
    if (!this.webhook) return info;
    info.max_connections = this.webhook.maxConnections;
    if (this.allowedUpdates) info.allowed_updates = this.allowedUpdates;
    if (this.webhook.lastErrorDate !== undefined) {
      info.last_error_date = this.webhook.lastErrorDate;
      info.last_error_message = this.webhook.lastErrorMessage;
    }
    return info;
  }

  close(): void {
    this.aborter.abort();
    this.finishPoll([]);
  }

  reset(): void {
    this.finishPoll([]);
    this.pending = [];
    this.allowedUpdates = undefined;
    this.webhook = undefined;
  }

  private isAllowed(update: TgUpdate): boolean {
    const type = Object.keys(update).find((key) => key !== 'update_id') ?? '';
    return this.allowedUpdates && this.allowedUpdates.length > 0 ? this.allowedUpdates.includes(type) : !OPT_IN_TYPES.has(type);
  }

  /** Asking for `offset` confirms every update before it: they are gone for good. */
  private confirm(offset: number): void {
    if (offset > 0) this.pending = this.pending.filter((update) => update.update_id >= offset);
  }

  private select(offset: number, limit: number): TgUpdate[] {
    const from = offset < 0 ? this.pending.slice(offset) : this.pending.filter((update) => update.update_id >= offset);
    return from.slice(0, limit);
  }

  private wakePoller(): void {
    if (this.poller) this.finishPoll(this.select(this.poller.offset, this.poller.limit));
  }

  private finishPoll(updates: TgUpdate[]): void {
    this.endPoller(updates);
  }

  private endPoller(outcome: TgUpdate[] | TelegramError): void {
    const poller = this.poller;
    if (!poller) return;
    this.poller = undefined;
    clearTimeout(poller.timer);
    if (outcome instanceof TelegramError) poller.reject(outcome);
    else poller.resolve(outcome);
  }

  private async deliver(update: TgUpdate, webhook: Webhook): Promise<number> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (webhook.secretToken) headers['x-telegram-bot-api-secret-token'] = webhook.secretToken;
    let status = 0;
    let failure: string | undefined;
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(update),
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(10_000)]),
      });
      await response.arrayBuffer();
      status = response.status;
      if (response.ok) await this.settled?.();
      if (!response.ok) failure = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
    } catch (error) {
      failure = `Connection failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (failure === undefined) this.pending = this.pending.filter((item) => item !== update);
    else Object.assign(webhook, { lastErrorDate: this.now(), lastErrorMessage: failure });
    return status;
  }
}
