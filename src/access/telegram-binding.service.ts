import { LockMode } from '@mikro-orm/core';
import { createHash, randomBytes } from 'node:crypto';
import { Customer } from '../customers/customer.entity';
import type { CustomerService } from '../customers/customer.service';
import { systemActor, type Database, type Tx } from '../platform/database/transaction';
import type { DeliveryDispatcher } from '../delivery/delivery-dispatcher';
import type { DeliveryService } from '../delivery/delivery.service';
import type { Logger } from '../platform/observability/logger';
import type { TelegramClient } from '../integrations/telegram/telegram.client';
import { BindingToken } from './binding-token.entity';
import type { TelegramOutbox } from './telegram-outbox.service';

const actor = systemActor('telegram-binding');
const HOUR_MS = 3_600_000;
/** Telegram's limit for a deep-link start parameter. https://core.telegram.org/api/links#bot-links */
const START_PARAMETER = /^[A-Za-z0-9_-]{1,64}$/;

export const REPLIES = {
  linked: 'Your Telegram account is now linked. We will send your invite links here as soon as a payment goes through.',
  alreadyLinked: 'Your Telegram account is already linked. Your invite links arrive in this chat.',
  invalid: 'This link is not valid. Please open the Telegram link from your checkout page again, or contact support.',
  used: 'This link has already been used. If that was not you, please contact support.',
  expired: 'This link has expired. Please ask for a new one from your account page, or contact support.',
  otherAccount: 'Your customer account is already linked to a different Telegram account. Please contact support to change it.',
  welcome: 'Hello! To receive your invite links here, open the personal Telegram link from your checkout page.',
} as const;

export interface DeepLink {
  url: string;
  expiresAt: Date;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Binds a customer to a Telegram account through a one-time deep link, then wakes the deliveries
 * that were waiting for a way to reach them. A /start that proves nothing binds nothing and gets a
 * reply that reveals nothing about anyone.
 */
export class TelegramBinding {
  private username: Promise<string> | null = null;

  constructor(
    private readonly db: Database,
    private readonly telegram: TelegramClient,
    private readonly customers: CustomerService,
    private readonly delivery: DeliveryService,
    private readonly dispatcher: DeliveryDispatcher,
    private readonly outbox: TelegramOutbox,
    private readonly settings: { tokenTtlHours: number; botUsername?: string },
    private readonly logger: Logger,
  ) {}

  /** A fresh one-time link; null when the bot's username is unknown (Telegram unreachable). */
  async deepLinkFor(customerId: string): Promise<DeepLink | null> {
    const username = await this.botUsername();
    if (!username) return null;
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(this.db.clock.now().getTime() + this.settings.tokenTtlHours * HOUR_MS);
    await this.db.transaction(async (tx) => {
      tx.em.persist(tx.em.create(BindingToken, { customer: customerId, tokenHash: hashToken(token), expiresAt }));
    });
    return { url: `https://t.me/${username}?start=${token}`, expiresAt };
  }

  /** `/start [token]` from a private chat, inside the update's transaction. Returns the outcome. */
  async handleStart(tx: Tx, telegramUserId: string, chatId: string, payload: string | null): Promise<string> {
    if (!payload) return this.greet(tx, telegramUserId, chatId);
    const token = START_PARAMETER.test(payload)
      ? await tx.em.findOne(BindingToken, { tokenHash: hashToken(payload) }, { lockMode: LockMode.PESSIMISTIC_WRITE })
      : null;
    if (!token) return this.reply(tx, chatId, REPLIES.invalid, 'rejected: unknown token');
    if (token.usedAt) {
      if (token.usedByTelegramUserId === telegramUserId) return this.greet(tx, telegramUserId, chatId);
      return this.reply(tx, chatId, REPLIES.used, 'rejected: token already used');
    }
    if (token.expiresAt <= tx.clock.now()) return this.reply(tx, chatId, REPLIES.expired, 'rejected: token expired');
    const customer = await tx.em.findOneOrFail(Customer, token.customer.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const bound = this.customers.bindTelegram(tx, actor, customer, telegramUserId);
    // Not consumed: the customer may still use it from the account that is theirs.
    if (bound === 'bound_elsewhere') return this.reply(tx, chatId, REPLIES.otherAccount, 'rejected: customer is bound to another Telegram account');
    token.usedAt = tx.clock.now();
    token.usedByTelegramUserId = telegramUserId;
    const woken = await this.wake(tx, [customer.id]);
    // The delivery message itself confirms the link; a second message would only be noise.
    if (woken === 0) this.outbox.enqueue(tx, 'sendMessage', { chatId, text: REPLIES.linked });
    return `applied: customer ${bound === 'bound' ? 'bound' : 'already bound'}; ${woken} delivery(ies) woken`;
  }

  /**
   * A bare /start (or a token this user already used): someone bound who starts the bot can now be
   * messaged, which is exactly what a delivery stuck on "can't initiate conversation" waits for.
   */
  private async greet(tx: Tx, telegramUserId: string, chatId: string): Promise<string> {
    const customers = await this.customers.findByTelegramUserId(tx.em, telegramUserId);
    if (customers.length === 0) return this.reply(tx, chatId, REPLIES.welcome, 'ignored: /start from an unbound user');
    const woken = await this.wake(tx, customers.map((c) => c.id));
    if (woken === 0) this.outbox.enqueue(tx, 'sendMessage', { chatId, text: REPLIES.alreadyLinked });
    return `applied: bound user started the bot; ${woken} delivery(ies) woken`;
  }

  private async wake(tx: Tx, customerIds: string[]): Promise<number> {
    const ids: string[] = [];
    for (const customerId of customerIds) ids.push(...(await this.delivery.wakeAwaitingCustomer(tx, customerId)));
    tx.afterCommit(() => ids.forEach((id) => this.dispatcher.dispatch(id)));
    return ids.length;
  }

  private reply(tx: Tx, chatId: string, text: string, outcome: string): string {
    this.outbox.enqueue(tx, 'sendMessage', { chatId, text });
    return outcome;
  }

  private async botUsername(): Promise<string | null> {
    if (this.settings.botUsername) return this.settings.botUsername;
    this.username ??= this.telegram.getMe().then((me) => {
      if (!me.username) throw new Error('the bot has no username');
      return me.username;
    });
    try {
      return await this.username;
    } catch (error) {
      this.username = null;
      this.logger.warn({ err: (error as Error).message }, 'bot username unknown: no Telegram deep link this time');
      return null;
    }
  }
}

/** Erasure hook: a customer's binding tokens, and any token their Telegram account used, go with their personal data. */
export async function forgetBindingTokens(tx: Tx, subject: { customerId: string; telegramUserId: string | null }): Promise<void> {
  await tx.em.execute(`delete from telegram_binding_tokens where customer_id = ? or used_by_telegram_user_id = ?`, [subject.customerId, subject.telegramUserId ?? '']);
}
