import { classifyTelegramError, TelegramError } from './telegram.errors';

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

  sendMessage(chatId: string, text: string): Promise<{ message_id: number }> {
    return this.call('sendMessage', { chat_id: chatId, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
  }

  async call<T>(method: string, params: Record<string, unknown>, inlineRetry = true): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.options.apiUrl}/bot${this.options.botToken}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new TelegramError(timedOut ? 'TIMEOUT' : 'NETWORK', timedOut ? `no answer within ${this.timeoutMs} ms` : (error as Error).message, true, null, method);
    }
    const body = (await response.json().catch(() => null)) as
      | { ok: boolean; result?: T; description?: string; error_code?: number; parameters?: { retry_after?: number } }
      | null;
    if (body?.ok) return body.result as T;
    const status = body?.error_code ?? response.status;
    const error = classifyTelegramError(method, status, body?.description ?? `HTTP ${response.status}`, body?.parameters?.retry_after);
    if (inlineRetry && error.failure === 'RATE_LIMITED' && (error.retryAfterMs ?? 0) <= this.maxInlineRetryAfterMs) {
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1000));
      return this.call(method, params, false);
    }
    throw error;
  }
}
