import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TelegramClient } from '../../src/integrations/telegram/telegram.client';
import { classifyTelegramError, TelegramError } from '../../src/integrations/telegram/telegram.errors';
import { startFakeTelegram, type FakeTelegram } from '../../src/sandbox/telegram/fake-telegram.server';

const TOKEN = '4242:unit-test-token';

describe('classifyTelegramError', () => {
  it.each([
    [429, 'Too Many Requests: retry after 7', 'RATE_LIMITED', true],
    [500, 'Internal Server Error', 'SERVER', true],
    [502, 'Bad Gateway', 'SERVER', true],
    [401, 'Unauthorized', 'UNAUTHORIZED', false],
    [403, 'Forbidden: bot was blocked by the user', 'BOT_BLOCKED', false],
    [403, 'Forbidden: user is deactivated', 'BOT_BLOCKED', false],
    [403, "Forbidden: bot can't initiate conversation with a user", 'CANT_INITIATE', false],
    [403, 'Forbidden: bot was kicked from the channel chat', 'FORBIDDEN', false],
    [400, 'Bad Request: chat not found', 'CHAT_NOT_FOUND', false],
    [400, 'Bad Request: message text is empty', 'BAD_REQUEST', false],
  ])('%i %s → %s (retryable %s)', (status, description, failure, retryable) => {
    const error = classifyTelegramError('sendMessage', status, description, 7);
    expect(error).toBeInstanceOf(TelegramError);
    expect({ failure: error.failure, retryable: error.retryable }).toEqual({ failure, retryable });
    expect(error.code).toBe('GATEWAY_ERROR');
    expect(error.message).toBe(`Telegram sendMessage: ${description}`);
  });

  it('turns retry_after seconds into milliseconds, one second when Telegram gives none', () => {
    expect(classifyTelegramError('sendMessage', 429, 'Too Many Requests', 7).retryAfterMs).toBe(7000);
    expect(classifyTelegramError('sendMessage', 429, 'Too Many Requests').retryAfterMs).toBe(1000);
  });
});

describe('TelegramClient against the fake Bot API', () => {
  let fake: FakeTelegram;
  const client = (options: { timeoutMs?: number; maxInlineRetryAfterMs?: number } = {}) => new TelegramClient({ apiUrl: fake.url, botToken: TOKEN, ...options });
  const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: TelegramError) => error);

  beforeAll(async () => {
    fake = await startFakeTelegram({ botToken: TOKEN });
  });
  afterAll(async () => fake?.close());
  beforeEach(() => fake.reset());

  it('answers the result of a call that succeeded', async () => {
    expect(await client().getMe()).toMatchObject({ is_bot: true, username: 'recoup_sandbox_bot' });
  });

  it('waits out a short 429 once, inside the call', async () => {
    fake.failNext('sendMessage', { errorCode: 429, retryAfter: 0 });
    await expect(client().sendMessage('700100200', 'hello')).resolves.toMatchObject({ message_id: 1 });
    expect(fake.callsTo('sendMessage')).toHaveLength(2);
  });

  it('hands back a long 429 as retryable, with how long to wait', async () => {
    fake.failNext('sendMessage', { errorCode: 429, retryAfter: 30 });
    const error = await failure(client().sendMessage('700100200', 'hello'));
    expect(error).toMatchObject({ failure: 'RATE_LIMITED', retryable: true, retryAfterMs: 30_000 });
    expect(fake.callsTo('sendMessage')).toHaveLength(1);
  });

  it('gives up on a hanging call after its timeout, as a retryable TIMEOUT', async () => {
    fake.failNext('sendMessage', { hang: true });
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 200 }).sendMessage('700100200', 'hello'));
    expect(error).toMatchObject({ failure: 'TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports an unreachable API as a retryable NETWORK error', async () => {
    const closed = new TelegramClient({ apiUrl: 'http://127.0.0.1:9', botToken: TOKEN, timeoutMs: 2000 });
    expect(await failure(closed.getMe())).toMatchObject({ failure: 'NETWORK', retryable: true });
  });

  it('treats a 2xx it cannot read as retryable, not as a permanent failure', async () => {
    const garbled = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":tr'));
    await new Promise<void>((resolve) => garbled.listen(0, '127.0.0.1', resolve));
    try {
      const api = new TelegramClient({ apiUrl: `http://127.0.0.1:${(garbled.address() as AddressInfo).port}`, botToken: TOKEN });
      expect(await failure(api.sendMessage('700100200', 'hello'))).toMatchObject({ failure: 'NETWORK', retryable: true });
    } finally {
      await new Promise((resolve) => garbled.close(resolve));
    }
  });

  it('reports a wrong token as permanent UNAUTHORIZED', async () => {
    const wrong = new TelegramClient({ apiUrl: fake.url, botToken: '1:wrong' });
    expect(await failure(wrong.getMe())).toMatchObject({ failure: 'UNAUTHORIZED', retryable: false });
  });

  it('maps a user who never started the bot to CANT_INITIATE', async () => {
    const strict = await startFakeTelegram({ botToken: TOKEN, allowAllUsers: false });
    try {
      const error = await failure(new TelegramClient({ apiUrl: strict.url, botToken: TOKEN }).sendMessage('700100200', 'hello'));
      expect(error).toMatchObject({ failure: 'CANT_INITIATE', retryable: false });
    } finally {
      await strict.close();
    }
  });

  it('sends a link with member_limit 1, or a join-request link without one', async () => {
    const expireDate = new Date(Date.now() + 3_600_000);
    await client().createChatInviteLink({ chatId: '-1001', name: 'recoup 12345678', expireDate, memberLimit: 1 });
    await client().createChatInviteLink({ chatId: '-1001', name: 'x'.repeat(40), expireDate, createsJoinRequest: true });
    const [single, approval] = fake.callsTo('createChatInviteLink').map((c) => c.params);
    expect(single).toMatchObject({ member_limit: 1, expire_date: Math.floor(expireDate.getTime() / 1000) });
    expect(approval).toMatchObject({ creates_join_request: true });
    expect(approval).not.toHaveProperty('member_limit');
    expect(String(approval.name)).toHaveLength(32);
  });
});
