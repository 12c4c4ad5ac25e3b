import { REPLIES } from '../../src/access/telegram-binding.service';
import { startHarness, eventually, type Harness } from '../support/harness';

const SECRET = 'tg-updates-secret';

const sqlOf = (h: Harness) => <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);

/** A /start update as Telegram would post it. */
function startUpdate(updateId: number, userId: number, text = '/start forged-token') {
  const user = { id: userId, is_bot: false, first_name: 'Sam' };
  return { update_id: updateId, message: { message_id: 1, from: user, chat: { id: userId, type: 'private' }, date: 1_700_000_000, text } };
}

describe('POST /webhooks/telegram', () => {
  let h: Harness;
  const sql = (query: string, params: unknown[] = []) => sqlOf(h)(query, params);
  const post = async (body: unknown, secret: string | null = SECRET) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret !== null) headers['x-telegram-bot-api-secret-token'] = secret;
    const response = await fetch(`${h.url}/webhooks/telegram`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
    // Answered once stored; applied right after, from the inbox.
    await h.app.services.intake.whenIdle();
    return answer;
  };

  beforeAll(async () => {
    h = await startHarness({ env: { TELEGRAM_WEBHOOK_SECRET: SECRET } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => {
    await h.app.services.telegramOutbox.whenIdle();
    await h.reset();
  });

  it('answers 401 to a wrong or missing secret token and stores nothing', async () => {
    expect((await post(startUpdate(1, 42), 'not-the-secret')).status).toBe(401);
    expect((await post(startUpdate(2, 42), null)).status).toBe(401);
    expect((await post(startUpdate(3, 42), `${SECRET}x`)).status).toBe(401);
    expect(await sql(`select * from gateway_events`)).toEqual([]);
    expect(await sql(`select * from telegram_outbox`)).toEqual([]);
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);
  });

  it('answers 400 to a body that is not an update', async () => {
    expect((await post({ hello: 'world' })).status).toBe(400);
    expect((await post('{not json')).status).toBe(400);
    expect(await sql(`select * from gateway_events`)).toEqual([]);
  });

  it('stores the update under its update_id and applies it once, however often it arrives', async () => {
    const first = await post(startUpdate(9001, 42));
    const second = await post(startUpdate(9001, 42));
    expect(first).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect(second).toEqual({ status: 200, body: { received: true, status: 'duplicate' } });
    await h.app.services.telegramOutbox.whenIdle();

    const events = await sql(`select gateway, event_id, type, processed_at is not null as processed, outcome from gateway_events`);
    expect(events).toEqual([{ gateway: 'telegram', event_id: '9001', type: 'message', processed: true, outcome: 'rejected: unknown token' }]);
    expect(h.telegram.messagesTo(42).map((m) => m.text)).toEqual([REPLIES.invalid]);
  });

  it('registers the webhook with its secret and asks for chat_member and join-request updates', async () => {
    await h.app.services.telegramUpdates.registerWebhook(`${h.url}/webhooks/telegram`);
    const [call] = h.telegram.callsTo('setWebhook');
    expect(call.params).toMatchObject({ url: `${h.url}/webhooks/telegram`, secret_token: SECRET });
    expect(h.telegram.webhookInfo().allowed_updates).toEqual(['message', 'chat_member', 'chat_join_request']);

    const { status } = await h.telegram.simulateStart(77);
    expect(status).toBe(200);
    await h.app.services.telegramOutbox.whenIdle();
    expect(h.telegram.messagesTo(77).map((m) => m.text)).toEqual([REPLIES.welcome]);
  });

  it('ignores update kinds it has no use for, but records them', async () => {
    expect((await post({ update_id: 5, edited_message: { message_id: 1 } })).status).toBe(200);
    const [event] = await sql(`select type, outcome from gateway_events`);
    expect(event).toEqual({ type: 'edited_message', outcome: 'ignored: edited_message update' });
  });
});

describe('long polling (TELEGRAM_UPDATES_MODE=polling)', () => {
  let h: Harness;
  const sql = (query: string, params: unknown[] = []) => sqlOf(h)(query, params);

  beforeAll(async () => {
    h = await startHarness({ env: { TELEGRAM_UPDATES_MODE: 'polling', TELEGRAM_POLL_TIMEOUT_SEC: '1' } });
  });
  afterAll(async () => h?.close());

  it('applies updates from getUpdates and confirms them by advancing the offset', async () => {
    const { update: first } = await h.telegram.simulateStart(501, 'forged-one');
    const { update: second } = await h.telegram.simulateStart(502);

    await eventually(async () => (await sql(`select count(*)::int as n from gateway_events where processed_at is not null`))[0].n === 2);
    await h.app.services.telegramOutbox.whenIdle();
    expect(h.telegram.messagesTo(501).map((m) => m.text)).toEqual([REPLIES.invalid]);
    expect(h.telegram.messagesTo(502).map((m) => m.text)).toEqual([REPLIES.welcome]);

    expect(h.app.services.telegramUpdates.pollingOffset).toBe(second.update_id + 1);
    // The next poll carries the new offset, which is what tells Telegram the updates are done with.
    await eventually(async () => h.telegram.callsTo('getUpdates').some((c) => Number(c.params.offset) === second.update_id + 1));
    expect(h.telegram.webhookInfo().pending_update_count).toBe(0);
    const polls = h.telegram.callsTo('getUpdates');
    expect(polls[0].params.allowed_updates).toEqual(['message', 'chat_member', 'chat_join_request']);
    expect(polls.map((c) => Number(c.params.offset))).toContain(0);
    expect(first.update_id).toBeLessThan(second.update_id);
  });

  it('does not confirm an update it could not store: the same update comes again and is applied once', async () => {
    const realReceive = h.app.services.intake.receive.bind(h.app.services.intake);
    let failures = 0;
    const spy = jest.spyOn(h.app.services.intake, 'receive').mockImplementation(async (incoming) => {
      if (failures++ === 0) throw new Error('database hiccup');
      return realReceive(incoming);
    });
    try {
      const { update } = await h.telegram.simulateStart(503);
      await eventually(async () => (await sql(`select outcome from gateway_events where event_id = ?`, [String(update.update_id)]))[0]?.outcome, 10_000);
      expect(h.app.services.telegramUpdates.pollingOffset).toBe(update.update_id + 1);
      expect(failures).toBeGreaterThanOrEqual(2);
    } finally {
      spy.mockRestore();
    }
  });
});
