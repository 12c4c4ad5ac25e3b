import { updateType, type TelegramUpdate } from './telegram-update';

/**
 * What a Telegram update says happened, as a typed fact: pure (no I/O), so it is tested on plain
 * updates. Telegram's JSON is untrusted: a fact is made only from an update whose needed fields are
 * there; anything else is Ignored with the reason. Acting on a fact is access's work
 * (src/access/telegram-updates.service.ts).
 */

type ChatMemberUpdate = NonNullable<TelegramUpdate['chat_member']>;
type JoinRequestUpdate = NonNullable<TelegramUpdate['chat_join_request']>;

/** `/start [token]` sent to the bot in a private chat: binds the sender to a customer when the token is good. */
export interface StartCommand {
  kind: 'Start';
  telegramUserId: string;
  telegramChatId: string;
  /** The binding token as sent (trimmed), checked by binding; null for a bare /start. */
  token: string | null;
}

/** Someone joined, left, or was added or removed in a chat the bot administers. */
export interface ChatMemberChanged {
  kind: 'ChatMemberChanged';
  change: ChatMemberUpdate;
}

/** Someone asks to join a chat through an invite link that creates join requests. */
export interface JoinRequested {
  kind: 'JoinRequest';
  request: JoinRequestUpdate;
}

export interface TelegramIgnored {
  kind: 'Ignored';
  reason: string;
}

export type TelegramFact = StartCommand | ChatMemberChanged | JoinRequested | TelegramIgnored;

/** `/start`, `/start <payload>` or `/start@our_bot <payload>`. */
const START = /^\/start(?:@\w+)?(?:\s+([\s\S]*))?$/;

/** `type` is the update's kind as recorded at intake, when the caller has it. */
export function telegramFact(update: TelegramUpdate, type: string = updateType(update)): TelegramFact {
  if (update.message) return messageFact(update.message);
  const member = update.chat_member;
  if (member?.new_chat_member?.user && member.old_chat_member && member.chat) return { kind: 'ChatMemberChanged', change: member };
  const request = update.chat_join_request;
  if (request?.from && request.chat) return { kind: 'JoinRequest', request };
  return { kind: 'Ignored', reason: `${type} update` };
}

function messageFact(message: NonNullable<TelegramUpdate['message']>): TelegramFact {
  const match = typeof message.text === 'string' ? START.exec(message.text.trim()) : null;
  // Only a private chat: a /start in a group would bind whoever the group's chat is.
  if (!match || !message.from || message.chat?.type !== 'private') return { kind: 'Ignored', reason: 'not a /start in a private chat' };
  return { kind: 'Start', telegramUserId: String(message.from.id), telegramChatId: String(message.chat.id), token: match[1]?.trim() || null };
}
