import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { systemClock, type Clock } from '../../platform/shared/clock';
import { FakeBot } from './fake-telegram.bot';
import { TelegramError, TelegramFaults, TelegramRateLimiter } from './fake-telegram.errors';
import { optBool, optInt, optStr, optStringArray, type TgParams } from './fake-telegram.params';
import type {
  TelegramFault,
  TgCall,
  TgChat,
  TgChatJoinRequest,
  TgChatMember,
  TgMessage,
  TgUpdate,
  TgUpdateBody,
  TgWebhookInfo,
} from './fake-telegram.types';
import { UpdateQueue } from './fake-telegram.updates';

export type * from './fake-telegram.types';

export interface FakeTelegramOptions {
  port?: number;
  host?: string;
  botToken?: string;
  rateLimitPerSecond?: number;
  /** false: sendMessage to a user who never pressed Start answers 403, as Telegram does. */
  allowAllUsers?: boolean;
  clock?: Clock;
}

export const DEFAULT_BOT_TOKEN = '1000000001:FAKE-recoup-sandbox-token';

interface Reply {
  result: unknown;
  description?: string;
}

type Method = (params: TgParams) => Reply | Promise<Reply>;

const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** A Bot API look-alike on loopback: `${url}/bot<token>/<method>`, for tests and sandbox mode. */
export class FakeTelegram {
  readonly botToken: string;
  readonly bot: FakeBot;
  readonly calls: TgCall[] = [];
  readonly updates: UpdateQueue;
  private readonly faults = new TelegramFaults();
  private readonly limiter: TelegramRateLimiter;
  private readonly methods: Map<string, [string, Method]>;
  private readonly aborter = new AbortController();
  private server: Server | undefined;
  private incomingMessageId = 0;
  url = '';
  port = 0;


  /** See UpdateQueue.settled: a harness's way to make a webhook delivery resolve once Recoup applied it. */
  set webhookSettled(settled: (() => Promise<void>) | undefined) {
    this.updates.settled = settled;
  }
  constructor(options: FakeTelegramOptions = {}) {
    this.botToken = options.botToken ?? DEFAULT_BOT_TOKEN;
    const clock = options.clock ?? systemClock;
    this.bot = new FakeBot({ token: this.botToken, clock, allowAllUsers: options.allowAllUsers ?? true });
    this.updates = new UpdateQueue(() => this.bot.now());
    this.limiter = new TelegramRateLimiter(options.rateLimitPerSecond);
    this.methods = this.methodTable();
  }

  callsTo(method: string): TgCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Messages the bot sent, optionally to one chat. */
  messagesTo(chatId?: number): TgMessage[] {
    return this.bot.sentMessages.filter((message) => chatId === undefined || message.chat.id === chatId);
  }

  memberStatus(chatId: number, userId: number): TgChatMember {
    return this.bot.memberStatus(chatId, userId);
  }

  addChat(chat: TgChat): void {
    this.bot.addChat(chat);
  }

  userStartedBot(userId: number): void {
    this.bot.userStartedBot(userId);
  }

  userBlockedBot(userId: number): void {
    this.bot.userBlockedBot(userId);
  }

  failNext(method: string, fault: TelegramFault): void {
    this.faults.add(method, fault, false);
  }

  failAll(method: string, fault: TelegramFault): void {
    this.faults.add(method, fault, true);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Queues an update for getUpdates, or posts it to the webhook; answers the webhook's status. */
  async pushUpdate(update: TgUpdateBody): Promise<number | null> {
    return (await this.updates.push(update)).status;
  }

  /** The user opened the deep link t.me/<bot>?start=<payload> and pressed Start. */
  async simulateStart(userId: number, payloadToken?: string): Promise<{ update: TgUpdate; status: number | null }> {
    this.bot.userStartedBot(userId);
    const text = payloadToken ? `/start ${payloadToken}` : '/start';
    const user = this.bot.user(userId);
    return this.updates.push({
      message: {
        message_id: ++this.incomingMessageId,
        from: user,
        chat: { id: userId, type: 'private', first_name: user.first_name },
        date: this.bot.now(),
        text,
        entities: [{ type: 'bot_command', offset: 0, length: 6 }],
      },
    });
  }

  /**
   * The user joined through an invite link (throws if Telegram would refuse it). The chat_member
   * update reaches the bot only if it asked for chat_member in allowed_updates.
   */
  async simulateJoin(userId: number, chatId: number, inviteLink: string): Promise<{ update: TgUpdate; status: number | null }> {
    const link = this.bot.useInviteLink(userId, chatId, inviteLink);
    const user = this.bot.user(userId);
    return this.updates.push({
      chat_member: {
        chat: this.bot.chat(chatId),
        from: user,
        date: this.bot.now(),
        old_chat_member: { status: 'left', user },
        new_chat_member: { status: 'member', user },
        invite_link: link,
      },
    });
  }

  async simulateJoinRequest(userId: number, chatId: number, inviteLink?: string): Promise<{ update: TgUpdate; status: number | null }> {
    const link = this.bot.addJoinRequest(userId, chatId, inviteLink);
    const user = this.bot.user(userId);
    const request: TgChatJoinRequest = { chat: this.bot.chat(chatId), from: user, user_chat_id: userId, date: this.bot.now() };
    if (link) request.invite_link = link;
    return this.updates.push({ chat_join_request: request });
  }

  retryWebhook(): Promise<number[]> {
    return this.updates.retryWebhook();
  }

  webhookInfo(): TgWebhookInfo {
    return this.updates.webhookInfo();
  }

  reset(): void {
    this.calls.length = 0;
    this.incomingMessageId = 0;
    this.faults.clear();
    this.bot.reset();
    this.updates.reset();
  }

  async listen(port: number, host: string): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: '1mb' }));
    app.use(express.urlencoded({ extended: false, limit: '1mb' }));
    app.use((req, res) => void this.handle(req, res));
    app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(400).json(TelegramError.badRequest("can't parse request body").body());
    });
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve()));
    });
    this.port = (this.server?.address() as AddressInfo).port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  async close(): Promise<void> {
    this.aborter.abort();
    this.updates.close();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Long polls and hanging faults would otherwise keep close() (and jest) waiting.
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: Request, res: Response): Promise<void> {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.path);
    if (!match) return void res.status(404).json({ ok: false, error_code: 404, description: 'Not Found' });
    const [, token, requested = ''] = match;
    const entry = this.methods.get(requested.toLowerCase());
    const params: TgParams = { ...(req.query as TgParams), ...(typeof req.body === 'object' && req.body ? (req.body as TgParams) : {}) };
    const call: TgCall = { method: entry?.[0] ?? requested, params, at: new Date() };
    this.calls.push(call);
    try {
      if (token !== this.botToken) throw new TelegramError(401, 'Unauthorized');
      if (!entry) throw new TelegramError(404, 'Not Found');
      this.limiter.check();
      const fault = this.faults.take(call.method);
      if (fault?.delayMs) await this.sleep(fault.delayMs);
      if (fault?.hang) return; // close() destroys the socket
      if (fault && (fault.errorCode !== undefined || fault.description !== undefined)) throw TelegramError.fromFault(fault);
      const reply = await entry[1](params);
      if (!res.destroyed) res.json({ ok: true, result: reply.result, ...(reply.description ? { description: reply.description } : {}) });
    } catch (error) {
      const failure = error instanceof TelegramError ? error : new TelegramError(500, 'Internal Server Error');
      call.errorCode = failure.errorCode;
      if (!res.destroyed && !res.headersSent) res.status(failure.errorCode).json(failure.body());
    }
  }

  private methodTable(): Map<string, [string, Method]> {
    const bot = this.bot;
    const plain = (fn: (params: TgParams) => unknown): Method => (params) => ({ result: fn(params) });
    const table: Record<string, Method> = {
      getMe: plain(() => bot.getMe()),
      getChat: plain((p) => bot.getChat(p)),
      getChatMember: plain((p) => bot.getChatMember(p)),
      sendMessage: plain((p) => bot.sendMessage(p)),
      createChatInviteLink: plain((p) => bot.createChatInviteLink(p)),
      revokeChatInviteLink: plain((p) => bot.revokeChatInviteLink(p)),
      banChatMember: plain((p) => bot.banChatMember(p)),
      unbanChatMember: plain((p) => bot.unbanChatMember(p)),
      approveChatJoinRequest: plain((p) => bot.approveChatJoinRequest(p)),
      declineChatJoinRequest: plain((p) => bot.declineChatJoinRequest(p)),
      getUpdates: async (p) => ({
        result: await this.updates.getUpdates({
          offset: optInt(p, 'offset'),
          limit: optInt(p, 'limit'),
          timeoutSec: optInt(p, 'timeout'),
          allowedUpdates: optStringArray(p, 'allowed_updates'),
        }),
      }),
      setWebhook: (p) => this.setWebhook(p),
      deleteWebhook: (p) => {
        const existed = this.updates.deleteWebhook(optBool(p, 'drop_pending_updates') ?? false);
        return { result: true, description: existed ? 'Webhook was deleted' : 'Webhook is already deleted' };
      },
      getWebhookInfo: plain(() => this.updates.webhookInfo()),
    };
    return new Map(Object.entries(table).map(([name, method]) => [name.toLowerCase(), [name, method]]));
  }

  private setWebhook(params: TgParams): Reply {
    const url = optStr(params, 'url');
    if (!url) {
      this.updates.deleteWebhook(false);
      return { result: true, description: 'Webhook was deleted' };
    }
    if (!/^https?:\/\//.test(url)) throw TelegramError.badRequest('bad webhook: An HTTPS URL must be provided for webhook');
    const secretToken = optStr(params, 'secret_token');
    if (secretToken !== undefined && !SECRET_TOKEN.test(secretToken)) {
      throw TelegramError.badRequest('secret token contains unallowed characters');
    }
    this.updates.setWebhook(url, {
      secretToken,
      allowedUpdates: optStringArray(params, 'allowed_updates'),
      dropPending: optBool(params, 'drop_pending_updates'),
      maxConnections: optInt(params, 'max_connections'),
    });
    return { result: true, description: 'Webhook was set' };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.aborter.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.aborter.signal.addEventListener('abort', wake, { once: true });
    });
  }
}

export async function startFakeTelegram(options: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const fake = new FakeTelegram(options);
  await fake.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return fake;
}
