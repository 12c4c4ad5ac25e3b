import { classifyTelegramError, TelegramError } from './telegram.errors';
import type { TelegramUpdate } from './telegram-update';

export interface ChatInviteLink {
  invite_link: string;
  name?: string;
  expire_date?: number;
  member_limit?: number;
  creates_join_request: boolean;
  is_revoked: boolean;
}

export interface BotUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}

export interface TelegramClientOptions {
  apiUrl: string;
  botToken: string;
  timeoutMs?: number;
  /** A 429 asking to wait this long or less is waited out once, inside the call. */
  maxInlineRetryAfterMs?: number;
}

/**
 * The Telegram Bot API over HTTP. The only module that speaks it. Every failure comes out as a
 * TelegramError that says whether a retry can help.
 */
export class TelegramClient {
  private readonly timeoutMs: number;
  private readonly maxInlineRetryAfterMs: number;

  constructor(private readonly options: TelegramClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxInlineRetryAfterMs = options.maxInlineRetryAfterMs ?? 3_000;
  }

  getMe(): Promise<BotUser> {
    return this.call('getMe', {});
  }

  createChatInviteLink(params: { chatId: string; name: string; expireDate: Date; memberLimit?: number; createsJoinRequest?: boolean }): Promise<ChatInviteLink> {
    return this.call('createChatInviteLink', {
      chat_id: params.chatId,
      name: params.name.slice(0, 32),
      expire_date: Math.floor(params.expireDate.getTime() / 1000),
      // member_limit and creates_join_request are mutually exclusive in the Bot API.
      ...(params.createsJoinRequest ? { creates_join_request: true } : { member_limit: params.memberLimit ?? 1 }),
    });
  }

  revokeChatInviteLink(chatId: string, inviteLink: string): Promise<ChatInviteLink> {
    return this.call('revokeChatInviteLink', { chat_id: chatId, invite_link: inviteLink });
  }

  /** Removes a member; with unban right after, they are out but may rejoin after buying again. */
  banChatMember(chatId: string, userId: string): Promise<boolean> {
    return this.call('banChatMember', { chat_id: chatId, user_id: Number(userId), revoke_messages: false });
  }

  unbanChatMember(chatId: string, userId: string): Promise<boolean> {
    return this.call('unbanChatMember', { chat_id: chatId, user_id: Number(userId), only_if_banned: true });
  }

  approveChatJoinRequest(chatId: string, userId: string): Promise<boolean> {
    return this.call('approveChatJoinRequest', { chat_id: chatId, user_id: Number(userId) });
  }

  declineChatJoinRequest(chatId: string, userId: string): Promise<boolean> {
    return this.call('declineChatJoinRequest', { chat_id: chatId, user_id: Number(userId) });
  }

  /** Telegram only sends chat_member updates to a bot that lists them in allowed_updates. */
  setWebhook(params: { url: string; secretToken: string; allowedUpdates: readonly string[] }): Promise<boolean> {
    return this.call('setWebhook', { url: params.url, secret_token: params.secretToken, allowed_updates: params.allowedUpdates });
  }

  deleteWebhook(): Promise<boolean> {
    return this.call('deleteWebhook', { drop_pending_updates: false });
  }

  /** A long poll: the request stays open up to timeoutSec, so it gets its own, longer deadline. */
  getUpdates(params: { offset: number; timeoutSec: number; allowedUpdates: readonly string[]; signal?: AbortSignal }): Promise<TelegramUpdate[]> {
    const body = { offset: params.offset, timeout: params.timeoutSec, allowed_updates: params.allowedUpdates };
    return this.call('getUpdates', body, true, { timeoutMs: this.timeoutMs + params.timeoutSec * 1000, signal: params.signal });
  }

  sendMessage(chatId: string, text: string): Promise<{ message_id: number }> {
    return this.call('sendMessage', { chat_id: chatId, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
  }

  async call<T>(method: string, params: Record<string, unknown>, inlineRetry = true, request: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.options.apiUrl}/bot${this.options.botToken}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal: request.signal ? AbortSignal.any([timeout, request.signal]) : timeout,
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new TelegramError(timedOut ? 'TIMEOUT' : 'NETWORK', timedOut ? `no answer within ${timeoutMs} ms` : (error as Error).message, true, null, method);
    }
    const body = (await response.json().catch(() => null)) as
      | { ok: boolean; result?: T; description?: string; error_code?: number; parameters?: { retry_after?: number } }
      | null;
    if (body?.ok) return body.result as T;
    // A 2xx we could not read (cut off by our timeout, or not JSON) says nothing against a retry.
    if (!body && response.ok) throw new TelegramError(timeout.aborted ? 'TIMEOUT' : 'NETWORK', `unreadable answer (HTTP ${response.status})`, true, null, method);
    const status = body?.error_code ?? response.status;
    const error = classifyTelegramError(method, status, body?.description ?? `HTTP ${response.status}`, body?.parameters?.retry_after);
    if (inlineRetry && error.failure === 'RATE_LIMITED' && (error.retryAfterMs ?? 0) <= this.maxInlineRetryAfterMs) {
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1000));
      return this.call(method, params, false, request);
    }
    throw error;
  }
}
