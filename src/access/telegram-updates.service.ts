import type { Config } from '../platform/config';
import type { Tx } from '../platform/database/transaction';
import type { GatewayEvent } from '../inbox/gateway-event.entity';
import type { IntakeResult, WebhookIntake } from '../inbox/webhook-intake.service';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { ALLOWED_UPDATES, updateType, type TelegramUpdate } from '../integrations/telegram/telegram-update';
import { telegramFact } from '../integrations/telegram/facts';
import { UpdatesPoller } from '../integrations/telegram/updates-poller';
import type { JoinService } from './join.service';
import type { TelegramBinding } from './telegram-binding.service';

export const TELEGRAM_GATEWAY = 'telegram';

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
    const fact = telegramFact(event.payload as TelegramUpdate, event.type);
    switch (fact.kind) {
      case 'Start':
        return this.binding.handleStart(tx, fact.telegramUserId, fact.telegramChatId, fact.token);
      case 'ChatMemberChanged':
        return this.joins.handleMember(tx, fact.change);
      case 'JoinRequest':
        return this.joins.handleJoinRequest(tx, fact.request);
      case 'Ignored':
        return `ignored: ${fact.reason}`;
    }
  }
}
