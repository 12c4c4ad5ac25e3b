import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/shared/clock';
import { TelegramError } from './fake-telegram.errors';
import { chatIdParam, optBool, optInt, optStr, reqInt, type TgParams } from './fake-telegram.params';
import type { TgChat, TgChatInviteLink, TgChatMember, TgMemberStatus, TgMessage, TgUser } from './fake-telegram.types';

export interface BotOptions {
  token: string;
  clock: Clock;
  /** false: only users who pressed Start (userStartedBot) can be messaged. */
  allowAllUsers: boolean;
}

interface StoredLink {
  chatId: number;
  link: TgChatInviteLink;
  joined: number;
}

const MAX_TEXT = 4096;

/**
 * The bot's view of the world: chats, members, invite links, join requests and which users can
 * be messaged. Methods mirror the Bot API, with its documented errors and wording.
 * https://core.telegram.org/bots/api
 */
export class FakeBot {
  readonly me: TgUser;
  readonly sentMessages: TgMessage[] = [];
  private readonly chats = new Map<number, TgChat>();
  private readonly members = new Map<string, TgChatMember>();
  private readonly links = new Map<string, StoredLink>();
  private readonly joinRequests = new Map<string, StoredLink | undefined>();
  private readonly startedUsers = new Set<number>();
  private readonly blockedUsers = new Set<number>();
  private lastMessageId = 0;

  constructor(private readonly options: BotOptions) {
    const id = Number(options.token.split(':')[0]);
    this.me = {
      id: Number.isSafeInteger(id) ? id : 1_000_000_001,
      is_bot: true,
      first_name: 'Recoup Sandbox',
      username: 'recoup_sandbox_bot',
    };
  }

  now(): number {
    return Math.floor(this.options.clock.now().getTime() / 1000);
  }

  addChat(chat: TgChat): void {
    this.chats.set(chat.id, chat);
  }

  userStartedBot(userId: number): void {
    this.startedUsers.add(userId);
    this.blockedUsers.delete(userId);
  }

  userBlockedBot(userId: number): void {
    this.blockedUsers.add(userId);
  }

  user(id: number): TgUser {
    return { id, is_bot: false, first_name: `User ${id}`, language_code: 'en' };
  }

  /** Group and channel ids are negative; an unknown one is taken to be a supergroup. */
  chat(ref: number | string): TgChat {
    if (typeof ref === 'string') {
      const found = [...this.chats.values()].find((chat) => `@${chat.username}` === ref);
      if (!found) throw TelegramError.badRequest('chat not found');
      return found;
    }
    const known = this.chats.get(ref);
    if (known) return known;
    if (ref > 0) return { id: ref, type: 'private', first_name: `User ${ref}` };
    return { id: ref, type: 'supergroup', title: `Chat ${ref}` };
  }

  memberStatus(chatId: number, userId: number): TgChatMember {
    return this.members.get(`${chatId}:${userId}`) ?? { status: 'left', user: this.user(userId) };
  }

  setMember(chatId: number, userId: number, status: TgMemberStatus, untilDate?: number): TgChatMember {
    const member: TgChatMember = { status, user: this.user(userId) };
    if (untilDate !== undefined) member.until_date = untilDate;
    this.members.set(`${chatId}:${userId}`, member);
    return member;
  }

  getMe(): TgUser {
    return this.me;
  }

  getChat(params: TgParams): TgChat {
    return this.chat(chatIdParam(params));
  }

  getChatMember(params: TgParams): TgChatMember {
    const chat = this.chat(chatIdParam(params));
    return this.memberStatus(chat.id, reqInt(params, 'user_id'));
  }

  sendMessage(params: TgParams): TgMessage {
    const chat = this.chat(chatIdParam(params));
    const text = optStr(params, 'text');
    if (!text) throw TelegramError.badRequest('message text is empty');
    if (text.length > MAX_TEXT) throw TelegramError.badRequest('message is too long');
    if (chat.type === 'private') this.checkCanMessage(chat.id);
    this.lastMessageId += 1;
    const message: TgMessage = { message_id: this.lastMessageId, from: this.me, chat, date: this.now(), text };
    this.sentMessages.push(message);
    return message;
  }

  private checkCanMessage(userId: number): void {
    if (this.blockedUsers.has(userId)) throw TelegramError.forbidden('bot was blocked by the user');
    if (!this.options.allowAllUsers && !this.startedUsers.has(userId)) {
      throw TelegramError.forbidden("bot can't initiate conversation with a user");
    }
  }

  createChatInviteLink(params: TgParams): TgChatInviteLink {
    const chat = this.groupChat(params);
    const memberLimit = optInt(params, 'member_limit');
    const createsJoinRequest = optBool(params, 'creates_join_request') ?? false;
    if (memberLimit !== undefined && (memberLimit < 1 || memberLimit > 99_999)) throw TelegramError.badRequest('USAGE_LIMIT_INVALID');
    if (memberLimit !== undefined && createsJoinRequest) {
      throw TelegramError.badRequest("member_limit can't be specified for links requiring administrator approval");
    }
    const link: TgChatInviteLink = {
      invite_link: `https://t.me/+${randomBytes(12).toString('base64url')}`,
      creator: this.me,
      creates_join_request: createsJoinRequest,
      is_primary: false,
      is_revoked: false,
    };
    const name = optStr(params, 'name');
    if (name !== undefined) link.name = name;
    const expireDate = optInt(params, 'expire_date');
    if (expireDate !== undefined) link.expire_date = expireDate;
    if (memberLimit !== undefined) link.member_limit = memberLimit;
    if (createsJoinRequest) link.pending_join_request_count = 0;
    this.links.set(link.invite_link, { chatId: chat.id, link, joined: 0 });
    return link;
  }

  revokeChatInviteLink(params: TgParams): TgChatInviteLink {
    const chat = this.groupChat(params);
    const stored = this.links.get(optStr(params, 'invite_link') ?? '');
    if (!stored || stored.chatId !== chat.id) throw TelegramError.badRequest('INVITE_HASH_EXPIRED');
    stored.link.is_revoked = true;
    return stored.link;
  }

  banChatMember(params: TgParams): true {
    const chat = this.groupChat(params);
    const userId = reqInt(params, 'user_id');
    if (userId === this.me.id) throw TelegramError.badRequest("can't remove chat owner");
    this.setMember(chat.id, userId, 'kicked', optInt(params, 'until_date') ?? 0);
    return true;
  }

  /** Unbanning a current member removes them unless only_if_banned, as the Bot API documents. */
  unbanChatMember(params: TgParams): true {
    const chat = this.groupChat(params);
    const userId = reqInt(params, 'user_id');
    const current = this.memberStatus(chat.id, userId).status;
    if (optBool(params, 'only_if_banned') && current !== 'kicked') return true;
    this.setMember(chat.id, userId, 'left');
    return true;
  }

  approveChatJoinRequest(params: TgParams): true {
    const { chatId, userId, link } = this.takeJoinRequest(params);
    this.setMember(chatId, userId, 'member');
    if (link) link.joined += 1;
    return true;
  }

  declineChatJoinRequest(params: TgParams): true {
    this.takeJoinRequest(params);
    return true;
  }

  /** The simulated user's side of a join; refused the way Telegram's app refuses the user. */
  useInviteLink(userId: number, chatId: number, inviteLink: string): TgChatInviteLink {
    const stored = this.links.get(inviteLink);
    if (!stored || stored.chatId !== chatId) throw new Error(`invite link ${inviteLink} does not belong to chat ${chatId}`);
    const { link } = stored;
    if (link.is_revoked) throw new Error(`invite link ${inviteLink} was revoked`);
    if (link.expire_date !== undefined && link.expire_date <= this.now()) throw new Error(`invite link ${inviteLink} expired`);
    if (link.member_limit !== undefined && stored.joined >= link.member_limit) throw new Error(`invite link ${inviteLink} is used up`);
    if (this.memberStatus(chatId, userId).status === 'kicked') throw new Error(`user ${userId} is banned from chat ${chatId}`);
    if (link.creates_join_request) throw new Error(`invite link ${inviteLink} requires a join request`);
    stored.joined += 1;
    this.setMember(chatId, userId, 'member');
    return link;
  }

  addJoinRequest(userId: number, chatId: number, inviteLink?: string): TgChatInviteLink | undefined {
    const stored = inviteLink ? this.links.get(inviteLink) : undefined;
    if (stored?.link.pending_join_request_count !== undefined) stored.link.pending_join_request_count += 1;
    this.joinRequests.set(`${chatId}:${userId}`, stored);
    return stored?.link;
  }

  reset(): void {
    for (const collection of [this.chats, this.members, this.links, this.joinRequests]) collection.clear();
    this.startedUsers.clear();
    this.blockedUsers.clear();
    this.sentMessages.length = 0;
    this.lastMessageId = 0;
  }

  private takeJoinRequest(params: TgParams): { chatId: number; userId: number; link?: StoredLink } {
    const chat = this.groupChat(params);
    const userId = reqInt(params, 'user_id');
    const key = `${chat.id}:${userId}`;
    if (!this.joinRequests.has(key)) throw TelegramError.badRequest('HIDE_REQUESTER_MISSING');
    const link = this.joinRequests.get(key);
    this.joinRequests.delete(key);
    if (link?.link.pending_join_request_count) link.link.pending_join_request_count -= 1;
    return { chatId: chat.id, userId, link };
  }

  private groupChat(params: TgParams): TgChat {
    const chat = this.chat(chatIdParam(params));
    if (chat.type === 'private') throw TelegramError.badRequest('method is available for supergroup and channel chats only');
    return chat;
  }
}
