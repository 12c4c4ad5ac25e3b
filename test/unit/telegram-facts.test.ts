import { telegramFact } from '../../src/integrations/telegram/facts';
import type { TelegramUpdate } from '../../src/integrations/telegram/telegram-update';

const user = { id: 4242, is_bot: false, first_name: 'Ada', username: 'ada' };
const privateChat = { id: 4242, type: 'private' };
const channel = { id: -1001234567890, type: 'channel' };
const link = { invite_link: 'https://t.me/+AbCdEf', creates_join_request: true };

const message = (text: string | undefined, chat = privateChat): TelegramUpdate => ({
  update_id: 1,
  message: { message_id: 7, from: user, chat, text },
});

describe('telegramFact', () => {
  it('/start with a binding token in a private chat names the sender, the chat and the token', () => {
    expect(telegramFact(message('/start tok_123'))).toEqual({ kind: 'Start', telegramUserId: '4242', telegramChatId: '4242', token: 'tok_123' });
  });

  it.each([
    ['/start', null],
    ['  /start   ', null],
    ['/start@recoup_bot tok_9 ', 'tok_9'],
    ['/start\n tok_nl', 'tok_nl'],
  ])('%j gives the token %j', (text, token) => {
    expect(telegramFact(message(text))).toMatchObject({ kind: 'Start', token });
  });

  it.each([
    ['a plain message', message('hello')],
    ['a command that only starts like /start', message('/started')],
    ['a message without text', message(undefined)],
    ['/start in a group', message('/start tok_1', { id: -42, type: 'group' })],
    ['/start with no sender', { update_id: 1, message: { message_id: 7, chat: privateChat, text: '/start tok_1' } }],
  ])('%s is ignored: not a /start in a private chat', (_, update) => {
    expect(telegramFact(update)).toEqual({ kind: 'Ignored', reason: 'not a /start in a private chat' });
  });

  it('a chat member change carries the change as sent', () => {
    const change = {
      chat: channel,
      from: user,
      old_chat_member: { status: 'left', user },
      new_chat_member: { status: 'member', user },
      invite_link: link,
    };
    expect(telegramFact({ update_id: 2, chat_member: change })).toEqual({ kind: 'ChatMemberChanged', change });
  });

  it('a join request carries the request as sent', () => {
    const request = { chat: channel, from: user, user_chat_id: 4242, invite_link: link };
    expect(telegramFact({ update_id: 3, chat_join_request: request })).toEqual({ kind: 'JoinRequest', request });
  });

  it('a member change or join request missing what we read is ignored as its type', () => {
    const partialMember = { update_id: 4, chat_member: { chat: channel, from: user, old_chat_member: { status: 'left', user } } } as unknown as TelegramUpdate;
    expect(telegramFact(partialMember)).toEqual({ kind: 'Ignored', reason: 'chat_member update' });
    const partialRequest = { update_id: 5, chat_join_request: { chat: channel } } as unknown as TelegramUpdate;
    expect(telegramFact(partialRequest)).toEqual({ kind: 'Ignored', reason: 'chat_join_request update' });
  });

  it('an update of another kind is ignored, naming its kind', () => {
    expect(telegramFact({ update_id: 6, edited_message: { message_id: 1 } })).toEqual({ kind: 'Ignored', reason: 'edited_message update' });
    expect(telegramFact({ update_id: 7 })).toEqual({ kind: 'Ignored', reason: 'unknown update' });
  });

  it('names the kind as recorded at intake when given it', () => {
    expect(telegramFact({ update_id: 8, poll: {} }, 'poll_as_stored')).toEqual({ kind: 'Ignored', reason: 'poll_as_stored update' });
  });
});
