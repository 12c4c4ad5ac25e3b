import { startHarness, eventually, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';

const SECRET = 'tg-joins-secret';
const CUSTOMER_TG = 700100200; // seedCatalog's customer
let h: Harness;

const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const settle = async () => {
  await h.app.services.telegramOutbox.whenIdle();
  await h.app.services.dispatcher.whenIdle();
};
const audits = (action: string) => sql(`select subject_type, subject_id, after, note from audit_entries where action = ?`, [action]);

/** A paid, delivered payment: its invite link, channel and customer. */
async function deliveredPayment() {
  const seeded = await seedCatalog(h);
  const payment = await createPayment(h, seeded.customerId, seeded.planId);
  await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
  await eventually(async () => (await sql(`select (select d.status from deliveries d where d.payment_id = p.id) as delivery_status from payments p where p.id = ?`, [payment.id]))[0].delivery_status === 'DELIVERED');
  const [link] = await sql(`select l.id, l.telegram_invite_link, c.telegram_chat_id from invite_links l join channels c on c.id = l.channel_id where l.payment_id = ?`, [payment.id]);
  return { ...seeded, paymentId: payment.id, linkId: link.id as string, inviteLink: link.telegram_invite_link as string, chatId: Number(link.telegram_chat_id) };
}

const linkRow = async (id: string) => (await sql(`select used_at, used_by_telegram_user_id, revoked_at from invite_links where id = ?`, [id]))[0];

beforeAll(async () => {
  h = await startHarness({ env: { TELEGRAM_WEBHOOK_SECRET: SECRET } });
});
afterAll(async () => h?.close());
beforeEach(async () => {
  await settle();
  await h.reset();
  await h.app.services.telegramUpdates.registerWebhook(`${h.url}/webhooks/telegram`);
});

describe('joining through our invite links', () => {
  it('marks the link used by the joiner and revokes it at Telegram', async () => {
    const { linkId, inviteLink, chatId } = await deliveredPayment();
    const { status } = await h.telegram.simulateJoin(CUSTOMER_TG, chatId, inviteLink);
    expect(status).toBe(200);
    await settle();

    const link = await linkRow(linkId);
    expect(link.used_at).not.toBeNull();
    expect(link.used_by_telegram_user_id).toBe(String(CUSTOMER_TG));
    expect(link.revoked_at).not.toBeNull();
    const revokes = h.telegram.callsTo('revokeChatInviteLink');
    expect(revokes).toHaveLength(1);
    expect(revokes[0].params).toMatchObject({ invite_link: inviteLink });
    expect(String(revokes[0].params.chat_id)).toBe(String(chatId));
    const [audit] = await audits('invite_link.used');
    expect(audit).toMatchObject({ subject_type: 'invite_link', subject_id: linkId, after: { joinerIsCustomer: true } });
    expect(await sql(`select * from telegram_outbox`)).toEqual([]);
  });

  it('a revoke Telegram refuses for now is retried by the outbox job until it succeeds', async () => {
    const { linkId, inviteLink, chatId } = await deliveredPayment();
    h.telegram.failNext('revokeChatInviteLink', { errorCode: 502, description: 'Bad Gateway' });
    await h.telegram.simulateJoin(CUSTOMER_TG, chatId, inviteLink);
    await settle();
    expect((await linkRow(linkId)).revoked_at).toBeNull();
    const [owed] = await sql(`select attempts, last_error from telegram_outbox`);
    expect(owed).toMatchObject({ attempts: 1, last_error: expect.stringContaining('Bad Gateway') });

    await sql(`update telegram_outbox set next_attempt_at = now() - interval '1 second'`);
    expect(await h.app.services.telegramOutbox.runDue(10)).toEqual({ attempted: 1 });
    expect((await linkRow(linkId)).revoked_at).not.toBeNull();
    expect(h.telegram.callsTo('revokeChatInviteLink')).toHaveLength(2);
    expect(await sql(`select * from telegram_outbox`)).toEqual([]);
  });

  it('ignores a join through a link that is not ours', async () => {
    const { chatId } = await deliveredPayment();
    const foreign = h.telegram.bot.createChatInviteLink({ chat_id: chatId, member_limit: 1 });
    const { status } = await h.telegram.simulateJoin(123, chatId, foreign.invite_link);
    expect(status).toBe(200);
    await settle();
    expect(h.telegram.callsTo('revokeChatInviteLink')).toHaveLength(0);
    const [event] = await sql(`select outcome from gateway_events where gateway = 'telegram'`);
    expect(event.outcome).toBe('ignored: not one of our links');
  });
});

describe('join requests', () => {
  it('approves a requester whose active subscription covers the channel, and audits it', async () => {
    const { chatId, channelId, customerId } = await deliveredPayment();
    const { status } = await h.telegram.simulateJoinRequest(CUSTOMER_TG, chatId);
    expect(status).toBe(200);
    await settle();

    expect(h.telegram.callsTo('approveChatJoinRequest')).toHaveLength(1);
    expect(h.telegram.callsTo('declineChatJoinRequest')).toHaveLength(0);
    expect(h.telegram.memberStatus(chatId, CUSTOMER_TG).status).toBe('member');
    const [audit] = await audits('join_request.approve');
    expect(audit).toMatchObject({ subject_type: 'channel', subject_id: channelId, after: { customerIds: [customerId] } });
  });

  it('declines a requester with no subscription, and audits it', async () => {
    const { chatId, channelId } = await deliveredPayment();
    await h.telegram.simulateJoinRequest(424242, chatId);
    await settle();

    expect(h.telegram.callsTo('approveChatJoinRequest')).toHaveLength(0);
    const declines = h.telegram.callsTo('declineChatJoinRequest');
    expect(declines).toHaveLength(1);
    expect(String(declines[0].params.user_id)).toBe('424242');
    const [audit] = await audits('join_request.decline');
    expect(audit).toMatchObject({ subject_id: channelId, after: { telegramUserId: '424242' }, note: 'no customer is bound to this Telegram account' });
  });

  it('declines a bound customer whose subscription has lapsed', async () => {
    const { chatId } = await deliveredPayment();
    await sql(`update subscriptions set status = 'LAPSED'`);
    await h.telegram.simulateJoinRequest(CUSTOMER_TG, chatId);
    await settle();
    expect(h.telegram.callsTo('declineChatJoinRequest')).toHaveLength(1);
    const [audit] = await audits('join_request.decline');
    expect(audit.note).toBe('no active subscription covers this channel');
  });

  it('a decision Telegram already acted on (request gone) counts as done, not as a failure', async () => {
    const { chatId } = await deliveredPayment();
    h.telegram.failNext('approveChatJoinRequest', { errorCode: 400, description: 'Bad Request: HIDE_REQUESTER_MISSING' });
    await h.telegram.simulateJoinRequest(CUSTOMER_TG, chatId);
    await settle();
    expect(await sql(`select * from telegram_outbox`)).toEqual([]);
    const alerts = must(await h.gql(`{ alerts(first: 10) { edges { node { type } } } }`));
    expect(alerts.alerts.edges).toEqual([]);
  });
});
