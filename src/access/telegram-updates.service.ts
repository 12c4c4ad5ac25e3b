import type { Config } from '../platform/config';
import type { Tx } from '../platform/database/transaction';
import type { GatewayEvent } from '../inbox/gateway-event.entity';
import type { IntakeResult, WebhookIntake } from '../inbox/webhook-intake.service';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { ALLOWED_UPDATES, updateType, type TelegramUpdate } from '../integrations/telegram/telegram-update';
import { UpdatesPoller } from '../integrations/telegram/updates-poller';
import type { JoinService } from './join.service';
import type { TelegramBinding } from './telegram-binding.service';

export const TELEGRAM_GATEWAY = 'telegram';

/** `/start`, `/start <payload>` or `/start@our_bot <payload>`; the payload is checked by binding. */
const START = /^\/start(?:@\w+)?(?:\s+([\s\S]*))?$/;

/**
 * Telegram updates, from the webhook route or the long-polling loop, go through the same intake
 * as Stripe events: stored under (telegram, update_id) so a redelivery is a no-op, applied in
 * the same transaction, acknowledged only after commit.
 */
export class TelegramUpdates {
  private poller: UpdatesPoller | null = null;

  constructor(
    private readonly intake: WebhookIntake,
    private readonly binding: TelegramBinding,
    private readonly joins: JoinService,
    private readonly telegram: TelegramClient,
    private readonly settings: Config['telegram'],
    private readonly logger: Logger,
  ) {
    intake.register(TELEGRAM_GATEWAY, (tx, event) => this.apply(tx, event));
  }

  receive(update: TelegramUpdate): Promise<IntakeResult> {
    return this.intake.receive({ gateway: TELEGRAM_GATEWAY, eventId: String(update.update_id), type: updateType(update), payload: update });
  }

  /** At start-up: register the webhook (when its URL is configured) or start polling. */
  async start(): Promise<void> {
    const { updatesMode, webhookUrl } = this.settings;
    if (updatesMode === 'webhook' && webhookUrl) await this.registerWebhook(webhookUrl);
    if (updatesMode === 'polling') {
      this.poller = new UpdatesPoller(this.telegram, async (update) => void (await this.receive(update)), this.settings.pollTimeoutSec, this.logger.child({ component: 'telegram-poller' }));
      this.poller.start();
    }
    this.logger.info({ mode: updatesMode, webhook: updatesMode === 'webhook' ? (webhookUrl ?? 'not registered by us') : undefined }, 'telegram updates');
  }

  async stop(): Promise<void> {
    await this.poller?.stop();
  }

  get pollingOffset(): number | null {
    return this.poller?.nextOffset ?? null;
  }

  async registerWebhook(url: string): Promise<void> {
    if (!this.settings.webhookSecret) throw new Error('TELEGRAM_WEBHOOK_SECRET is required to register a webhook');
    await this.telegram.setWebhook({ url, secretToken: this.settings.webhookSecret, allowedUpdates: ALLOWED_UPDATES });
  }

  /** The intake's applier: runs inside the transaction that stores the update. */
  async apply(tx: Tx, event: GatewayEvent): Promise<string> {
    const update = event.payload as TelegramUpdate;
    if (update.message) return this.applyMessage(tx, update.message);
    if (update.chat_member?.new_chat_member?.user && update.chat_member.old_chat_member && update.chat_member.chat) {
      return this.joins.handleMember(tx, update.chat_member);
    }
    if (update.chat_join_request?.from && update.chat_join_request.chat) return this.joins.handleJoinRequest(tx, update.chat_join_request);
    return `ignored: ${event.type} update`;
  }

  private applyMessage(tx: Tx, message: NonNullable<TelegramUpdate['message']>): Promise<string> | string {
    const match = typeof message.text === 'string' ? START.exec(message.text.trim()) : null;
    if (!match || !message.from || message.chat?.type !== 'private') return 'ignored: not a /start in a private chat';
    return this.binding.handleStart(tx, String(message.from.id), String(message.chat.id), match[1]?.trim() || null);
  }
}
