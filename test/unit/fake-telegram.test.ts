import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeTelegram, type FakeTelegram, type TgUpdate } from '../../src/sandbox/telegram/fake-telegram.server';

const TOKEN = '4242:unit-test-token';
const CHANNEL = -1001234567890;

interface BotReply<T = unknown> {
  ok: boolean;
  result?: T;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

async function call<T = unknown>(fake: FakeTelegram, method: string, params: Record<string, unknown> = {}, token = TOKEN) {
  const response = await fetch(`${fake.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: response.status, body: (await response.json()) as BotReply<T> };
}

interface Hook {
  url: string;
  received: Array<{ headers: IncomingHttpHeaders; update: TgUpdate }>;
  close(): Promise<void>;
}

async function startHook(): Promise<Hook> {
  const hook = { received: [] as Hook['received'] } as Hook;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      hook.received.push({ headers: req.headers, update: JSON.parse(raw) as TgUpdate });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/telegram`;
  hook.close = () => new Promise((done) => server.close(() => done()));
  return hook;
}

describe('fake Telegram', () => {
  let fake: FakeTelegram;

  beforeAll(async () => {
    fake = await startFakeTelegram({ botToken: TOKEN });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('answers getMe, over GET and form posts too, and refuses a wrong token', async () => {
    expect((await call(fake, 'getMe')).body).toEqual({
      ok: true,
      result: { id: 4242, is_bot: true, first_name: 'Recoup Sandbox', username: 'recoup_sandbox_bot' },
    });
    expect((await fetch(`${fake.url}/bot${TOKEN}/getMe`)).status).toBe(200);
    const form = await fetch(`${fake.url}/bot${TOKEN}/sendMessage`, { method: 'POST', body: new URLSearchParams({ chat_id: '77', text: 'hi' }) });
    expect(await form.json()).toMatchObject({ ok: true, result: { chat: { id: 77, type: 'private' }, text: 'hi' } });
    expect(await call(fake, 'getMe', {}, 'nope')).toEqual({ status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
    expect((await call(fake, 'noSuchMethod')).status).toBe(404);
  });

  it('creates a one-use invite link and lets one user join through it', async () => {
    const expireDate = Math.floor(Date.now() / 1000) + 3600;
    const { body } = await call<{ invite_link: string }>(fake, 'createChatInviteLink', {
      chat_id: CHANNEL, name: 'pay_1', expire_date: expireDate, member_limit: 1,
    });
    expect(body.result).toMatchObject({
      invite_link: expect.stringMatching(/^https:\/\/t\.me\/\+/),
      creator: { is_bot: true, username: 'recoup_sandbox_bot' },
      name: 'pay_1', expire_date: expireDate, member_limit: 1, creates_join_request: false, is_primary: false, is_revoked: false,
    });
    const link = body.result?.invite_link as string;
    await fake.simulateJoin(501, CHANNEL, link);
    expect(fake.memberStatus(CHANNEL, 501).status).toBe('member');
    await expect(fake.simulateJoin(502, CHANNEL, link)).rejects.toThrow(/used up/);

    const revoked = await call(fake, 'revokeChatInviteLink', { chat_id: CHANNEL, invite_link: link });
    expect(revoked.body.result).toMatchObject({ is_revoked: true });
    expect(fake.callsTo('createChatInviteLink')).toHaveLength(1);
  });

  it('bans and unbans as the Bot API documents', async () => {
    fake.bot.setMember(CHANNEL, 600, 'member');
    await call(fake, 'banChatMember', { chat_id: CHANNEL, user_id: 600 });
    expect(fake.memberStatus(CHANNEL, 600).status).toBe('kicked');
    await call(fake, 'unbanChatMember', { chat_id: CHANNEL, user_id: 600, only_if_banned: true });
    expect(fake.memberStatus(CHANNEL, 600).status).toBe('left');
    const approve = await call(fake, 'approveChatJoinRequest', { chat_id: CHANNEL, user_id: 600 });
    expect(approve.body).toMatchObject({ ok: false, error_code: 400, description: 'Bad Request: HIDE_REQUESTER_MISSING' });
  });

  it('refuses to message a user who never started the bot when configured strictly', async () => {
    const strict = await startFakeTelegram({ botToken: TOKEN, allowAllUsers: false });
    try {
      const refused = await call(strict, 'sendMessage', { chat_id: 9001, text: 'Your link' });
      expect(refused).toEqual({
        status: 403,
        body: { ok: false, error_code: 403, description: "Forbidden: bot can't initiate conversation with a user" },
      });
      await strict.simulateStart(9001, 'tok_abc');
      expect((await call(strict, 'sendMessage', { chat_id: 9001, text: 'Your link' })).body.ok).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it('injects faults: once, for a method, and until cleared', async () => {
    fake.failNext('sendMessage', { errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    expect((await call(fake, 'sendMessage', { chat_id: 1, text: 'a' })).body).toEqual({
      ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user',
    });
    expect((await call(fake, 'sendMessage', { chat_id: 1, text: 'a' })).body.ok).toBe(true);

    fake.failAll('*', { errorCode: 429, retryAfter: 7 });
    for (let i = 0; i < 2; i += 1) {
      expect(await call(fake, 'getMe')).toEqual({
        status: 429,
        body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } },
      });
    }
    fake.clearFaults();
    expect((await call(fake, 'getMe')).status).toBe(200);
    expect(fake.callsTo('getMe').map((recorded) => recorded.errorCode)).toEqual([429, 429, undefined]);
  });

  it('answers 429 with retry_after above the rate limit', async () => {
    const limited = await startFakeTelegram({ botToken: TOKEN, rateLimitPerSecond: 2 });
    try {
      const replies = await Promise.all(Array.from({ length: 4 }, () => call(limited, 'getMe')));
      const throttled = replies.filter((reply) => reply.status === 429);
      expect(throttled.length).toBe(2);
      expect(throttled[0]?.body.parameters?.retry_after).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('long-polls getUpdates until an update arrives, and confirms by offset', async () => {
    const poll = call<TgUpdate[]>(fake, 'getUpdates', { timeout: 5 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fake.simulateStart(321, 'tok_xyz');
    const { body } = await poll;
    expect(body.result).toHaveLength(1);
    const update = body.result?.[0] as TgUpdate;
    expect(update.message).toMatchObject({ text: '/start tok_xyz', from: { id: 321 }, chat: { id: 321, type: 'private' } });

    await fake.simulateJoinRequest(321, CHANNEL);
    const next = await call<TgUpdate[]>(fake, 'getUpdates', { offset: update.update_id + 1 });
    expect(next.body.result?.map((item) => Object.keys(item))).toEqual([['update_id', 'chat_join_request']]);
    expect(next.body.result?.[0]?.update_id).toBeGreaterThan(update.update_id);
    expect((await call(fake, 'approveChatJoinRequest', { chat_id: CHANNEL, user_id: 321 })).body.ok).toBe(true);
  });

  it('ends an older long poll when another starts (two bot instances)', async () => {
    const first = call(fake, 'getUpdates', { timeout: 5 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = call<TgUpdate[]>(fake, 'getUpdates', { timeout: 1 });
    expect((await first).body).toMatchObject({ ok: false, error_code: 409 });
    expect((await second).body).toEqual({ ok: true, result: [] });
  });

  it('posts updates to the webhook with the secret header, honouring allowed_updates', async () => {
    const hook = await startHook();
    try {
      const set = await call(fake, 'setWebhook', { url: hook.url, secret_token: 'sekret_1', allowed_updates: ['message', 'chat_member'] });
      expect(set.body).toEqual({ ok: true, result: true, description: 'Webhook was set' });
      expect((await call(fake, 'getUpdates')).status).toBe(409);

      const { status } = await fake.simulateStart(77, 'tok_1');
      expect(status).toBe(200);
      expect(hook.received[0]?.headers['x-telegram-bot-api-secret-token']).toBe('sekret_1');
      expect(hook.received[0]?.update.message?.text).toBe('/start tok_1');
      expect(await fake.pushUpdate({ chat_join_request: { chat: { id: CHANNEL, type: 'channel' }, from: fake.bot.user(77), user_chat_id: 77, date: 1 } })).toBeNull();
      expect((await call(fake, 'getWebhookInfo')).body.result).toMatchObject({ url: hook.url, pending_update_count: 0 });
    } finally {
      await hook.close();
    }
  });

  it('leaves chat_member updates out unless asked for', async () => {
    const { body } = await call<{ invite_link: string }>(fake, 'createChatInviteLink', { chat_id: CHANNEL, member_limit: 1 });
    const join = await fake.simulateJoin(11, CHANNEL, body.result?.invite_link as string);
    expect(join.status).toBeNull();
    expect((await call<TgUpdate[]>(fake, 'getUpdates')).body.result).toEqual([]);
  });

  it('hangs a request until close', async () => {
    const hanging = await startFakeTelegram({ botToken: TOKEN });
    hanging.failNext('sendMessage', { hang: true });
    const pending = call(hanging, 'sendMessage', { chat_id: 1, text: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await hanging.close();
    await expect(pending).rejects.toThrow();
  });
});
