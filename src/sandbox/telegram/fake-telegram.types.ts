/** Bot API objects as the fake returns them (the subset of fields Telegram documents and we use). */

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}

export type TgChatType = 'private' | 'group' | 'supergroup' | 'channel';

export interface TgChat {
  id: number;
  type: TgChatType;
  title?: string;
  username?: string;
  first_name?: string;
}

export interface TgChatInviteLink {
  invite_link: string;
  creator: TgUser;
  creates_join_request: boolean;
  is_primary: boolean;
  is_revoked: boolean;
  name?: string;
  expire_date?: number;
  member_limit?: number;
  pending_join_request_count?: number;
}

export interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  date: number;
  text?: string;
  entities?: Array<{ type: string; offset: number; length: number }>;
}

export type TgMemberStatus = 'creator' | 'administrator' | 'member' | 'restricted' | 'left' | 'kicked';

export interface TgChatMember {
  status: TgMemberStatus;
  user: TgUser;
  until_date?: number;
}

export interface TgChatMemberUpdated {
  chat: TgChat;
  from: TgUser;
  date: number;
  old_chat_member: TgChatMember;
  new_chat_member: TgChatMember;
  invite_link?: TgChatInviteLink;
  via_join_request?: boolean;
}

export interface TgChatJoinRequest {
  chat: TgChat;
  from: TgUser;
  user_chat_id: number;
  date: number;
  invite_link?: TgChatInviteLink;
}

/** One update: `update_id` plus exactly one of the optional fields. */
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  chat_member?: TgChatMemberUpdated;
  my_chat_member?: TgChatMemberUpdated;
  chat_join_request?: TgChatJoinRequest;
  callback_query?: Record<string, unknown>;
  [other: string]: unknown;
}

export type TgUpdateBody = Omit<TgUpdate, 'update_id'>;

export interface TgWebhookInfo {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  max_connections?: number;
  allowed_updates?: string[];
  last_error_date?: number;
  last_error_message?: string;
}

export interface TgCall {
  method: string;
  params: Record<string, unknown>;
  at: Date;
  /** Filled when answered: the error code, or undefined for ok. */
  errorCode?: number;
}

export interface TelegramFault {
  errorCode?: number;
  description?: string;
  retryAfter?: number;
  times?: number;
  hang?: boolean;
  delayMs?: number;
}
