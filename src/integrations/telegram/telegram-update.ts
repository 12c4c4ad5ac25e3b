/**
 * The parts of a Bot API Update we read (https://core.telegram.org/bots/api#update). Incoming
 * JSON is untrusted: readers check shapes rather than cast blindly.
 */
export interface TelegramUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  username?: string;
}

export interface TelegramChat {
  id: number;
  type: string;
}

export interface TelegramInviteLinkRef {
  invite_link: string;
  creates_join_request?: boolean;
}

export interface TelegramChatMember {
  status: string;
  user: TelegramUser;
  is_member?: boolean;
}

export interface TelegramUpdate {
  update_id: number;
  message?: { message_id: number; from?: TelegramUser; chat: TelegramChat; text?: string };
  chat_member?: {
    chat: TelegramChat;
    from: TelegramUser;
    old_chat_member: TelegramChatMember;
    new_chat_member: TelegramChatMember;
    invite_link?: TelegramInviteLinkRef;
    via_join_request?: boolean;
  };
  chat_join_request?: { chat: TelegramChat; from: TelegramUser; user_chat_id?: number; invite_link?: TelegramInviteLinkRef };
  [other: string]: unknown;
}

/** What we ask Telegram for; chat_member is opt-in and would otherwise never arrive. */
export const ALLOWED_UPDATES = ['message', 'chat_member', 'chat_join_request'] as const;

/** The update's kind: the one field besides update_id. */
export function updateType(update: TelegramUpdate): string {
  return Object.keys(update).find((key) => key !== 'update_id') ?? 'unknown';
}

/** A body that is an update: an object with a non-negative integer update_id. */
export function isTelegramUpdate(body: unknown): body is TelegramUpdate {
  if (typeof body !== 'object' || body === null) return false;
  const id = (body as { update_id?: unknown }).update_id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
}
