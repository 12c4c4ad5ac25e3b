import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const SECRET = 'tg-access-money-secret';
const CUSTOMER_TG = 700100200; // seedCatalog's customer
let h: Harness;

const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const settle = async () => {
  await h.stripe.whenIdle();
  await h.app.services.dispatcher.whenIdle();
  await h.app.services.telegramOutbox.whenIdle();
};
const REFUND = `mutation($id: ID!, $amount: Int) { refundPayment(paymentId: $id, amountMinor: $amount, reason: "customer asked") { payment { status refundedMinor } } }`;
const refund = async (paymentId: string, amountMinor: number | null = null) => must(await h.gql(REFUND, { id: paymentId, amount: amountMinor }, { token: h.tokens.operator })).refundPayment.payment;
const member = (chatId: string) => h.telegram.memberStatus(Number(chatId), CUSTOMER_TG).status;
const bannedChats = () => h.telegram.callsTo('banChatMember').filter((c) => c.errorCode === undefined).map((c) => String(c.params.chat_id)).sort();
const subscription = async (id: string) => (await sql(`select status, access_removed_at, removal_error from subscriptions where id = ?`, [id]))[0];

async function channel(title: string): Promise<{ id: string; chatId: string }> {
  const chatId = `-100${Math.floor(Math.random() * 1e10)}`;
  const id = must(await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: chatId, title } })).createChannel.id as string;
  return { id, chatId };
}

async function plan(name: string, channelIds: string[]): Promise<string> {
  const bundleId = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name, channelIds } })).createBundle.id;
  const input = { bundleId, name: `${name} monthly`, amountMinor: 2500, currency: 'usd', durationDays: 30 };
  return must(await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, { i: input })).createPlan.id as string;
}

/** A paid, delivered payment: its subscription and invite links by chat id. */
async function buy(customerId: string, planId: string) {
  const payment = await createPayment(h, customerId, planId);
  await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
  await eventually(async () => must(await h.gql(`query($id: ID!) { payment(id: $id) { deliveryStatus } }`, { id: payment.id })).payment.deliveryStatus === 'DELIVERED');
  const links = await sql<{ id: string; telegram_invite_link: string; telegram_chat_id: string }>(`select l.id, l.telegram_invite_link, c.telegram_chat_id from invite_links l join channels c on c.id = l.channel_id where l.payment_id = ?`, [payment.id]);
  const [sub] = await sql(`select id from subscriptions where last_payment_id = ?`, [payment.id]);
  const linkIn = (chatId: string) => links.find((l) => l.telegram_chat_id === chatId)!;
  return { paymentId: payment.id, subscriptionId: sub.id as string, linkIn };
}

/** The customer joins through the link; the join's own revoke of it is done. */
async function joined(chatId: string, link: { id: string; telegram_invite_link: string }) {
  await h.telegram.simulateJoin(CUSTOMER_TG, Number(chatId), link.telegram_invite_link);
  await eventually(async () => (await sql(`select revoked_at from invite_links where id = ?`, [link.id]))[0].revoked_at);
}

/**
 * The customer of seedCatalog buys a bundle of two channels, A and B, and joins A through its
 * link (which the join revokes); B's link is still open.
 */
async function joinedCustomer() {
  const seed = await seedCatalog(h);
  const a = { id: seed.channelId, chatId: (await sql(`select telegram_chat_id from channels where id = ?`, [seed.channelId]))[0].telegram_chat_id as string };
  const b = await channel('Analysis');
  const both = await plan('Both', [a.id, b.id]);
  const bought = await buy(seed.customerId, both);
  await joined(a.chatId, bought.linkIn(a.chatId));
  expect(member(a.chatId)).toBe('member');
  h.telegram.calls.length = 0;
  return { ...seed, a, b, ...bought };
}

beforeAll(async () => {
  h = await startHarness({ env: { TELEGRAM_WEBHOOK_SECRET: SECRET } });
});
afterAll(async () => h?.close());
beforeEach(async () => {
  await settle();
  await h.reset();
  await h.app.services.telegramUpdates.registerWebhook(`${h.url}/webhooks/telegram`);
});

describe('access follows money at once', () => {
  it('a full refund removes the member and revokes the open link right after commit, audited, with no expiry run', async () => {
    const { a, b, paymentId, subscriptionId, linkIn } = await joinedCustomer();

    expect(await refund(paymentId)).toMatchObject({ status: 'REFUNDED' });
    await settle();

    expect(member(a.chatId)).toBe('left');
    expect(bannedChats()).toEqual([a.chatId, b.chatId].sort());
    expect(h.telegram.callsTo('unbanChatMember').every((c) => c.params.only_if_banned === true)).toBe(true);
    expect(h.telegram.callsTo('revokeChatInviteLink').map((c) => c.params.invite_link)).toEqual([linkIn(b.chatId).telegram_invite_link]);
    expect(await sql(`select revoked_at from invite_links where revoked_at is null`)).toEqual([]);
    const [audit] = await sql(`select subject_type, after, note from audit_entries where action = 'access.revoke' and subject_id = ?`, [paymentId]);
    expect(audit).toMatchObject({ subject_type: 'payment', note: 'payment refunded', after: { subscriptionId, inviteLinkIds: [linkIn(b.chatId).id] } });
    expect([...audit.after.channelIds].sort()).toEqual([a.id, b.id].sort());
    expect(await subscription(subscriptionId)).toMatchObject({ status: 'LAPSED', removal_error: null, access_removed_at: expect.anything() });
    expect(await sql(`select * from telegram_outbox`)).toEqual([]);

    // The charge.refunded webhook of the same refund, and a redelivery of it, remove no one again;
    // nor does the nightly run, which finds the removal recorded.
    const event = h.stripe.store.events.newestFirst().find((e) => e.type === 'charge.refunded')!;
    expect(await h.stripe.sendEvent(event)).toBe(200);
    expect(await h.stripe.sendEvent(event)).toBe(200);
    expect(await sql(`select outcome from gateway_events where type = 'charge.refunded'`)).toEqual([{ outcome: expect.stringContaining('already REFUNDED') }]);
    const report = await h.app.services.accessExpiry.run();
    await settle();
    expect(report).toMatchObject({ removed: 0, removalFailed: 0 });
    expect(h.telegram.callsTo('banChatMember')).toHaveLength(2);
  });

  it('a dispute removes the member at once; the refund that follows removes no one twice', async () => {
    const { a, b, paymentId, subscriptionId, linkIn } = await joinedCustomer();
    const [{ stripe_payment_intent_id: intentId }] = await sql(`select stripe_payment_intent_id from payments where id = ?`, [paymentId]);
    const charge = h.stripe.store.paymentIntents.get(intentId, 'intent').latest_charge as string;

    await h.stripe.disputeCharge(charge);
    await eventually(async () => (await sql(`select status from payments where id = ?`, [paymentId]))[0].status === 'DISPUTED');
    await settle();

    expect(member(a.chatId)).toBe('left');
    expect(bannedChats()).toEqual([a.chatId, b.chatId].sort());
    expect(h.telegram.callsTo('revokeChatInviteLink').map((c) => c.params.invite_link)).toEqual([linkIn(b.chatId).telegram_invite_link]);
    const [audit] = await sql(`select note from audit_entries where action = 'access.revoke' and subject_id = ?`, [paymentId]);
    expect(audit.note).toBe('payment disputed');
    expect((await subscription(subscriptionId)).access_removed_at).not.toBeNull();

    expect(await refund(paymentId)).toMatchObject({ status: 'REFUNDED' });
    await settle();
    expect(h.telegram.callsTo('banChatMember')).toHaveLength(2);
    expect(await sql(`select 1 from audit_entries where action = 'access.revoke'`)).toHaveLength(1);
  });

  it('keeps the channel another live subscription covers and removes the member from the rest', async () => {
    const seed = await seedCatalog(h);
    const [{ telegram_chat_id: aChat }] = await sql(`select telegram_chat_id from channels where id = ?`, [seed.channelId]);
    const b = await channel('Analysis');
    const own = await buy(seed.customerId, seed.planId); // bundle {A}
    const both = await buy(seed.customerId, await plan('Both', [seed.channelId, b.id])); // bundle {A, B}
    await joined(aChat, own.linkIn(aChat));
    await joined(b.chatId, both.linkIn(b.chatId));
    await settle();
    h.telegram.calls.length = 0;

    await refund(both.paymentId);
    await settle();

    expect(member(aChat)).toBe('member');
    expect(member(b.chatId)).toBe('left');
    expect(bannedChats()).toEqual([b.chatId]);
    // Bought with the refunded money: revoked even where the other subscription keeps the member.
    const [bothA] = await sql(`select revoked_at from invite_links where id = ?`, [both.linkIn(aChat).id]);
    expect(bothA.revoked_at).not.toBeNull();
    expect((await subscription(own.subscriptionId)).status).toBe('ACTIVE');
  });

  it('a partial refund removes nobody; refunding the rest does', async () => {
    const { a, paymentId, subscriptionId } = await joinedCustomer();

    expect(await refund(paymentId, 1000)).toMatchObject({ status: 'SUCCEEDED', refundedMinor: 1000 });
    await settle();
    expect(h.telegram.callsTo('banChatMember')).toEqual([]);
    expect(member(a.chatId)).toBe('member');
    expect(await subscription(subscriptionId)).toMatchObject({ status: 'ACTIVE', access_removed_at: null });
    expect(await sql(`select 1 from audit_entries where action = 'access.revoke'`)).toEqual([]);

    expect(await refund(paymentId)).toMatchObject({ status: 'REFUNDED', refundedMinor: 2500 });
    await settle();
    expect(member(a.chatId)).toBe('left');
  });

  it('a removal Telegram refuses once is retried by the outbox; the expiry run meanwhile leaves it alone', async () => {
    const { a, b, paymentId, subscriptionId } = await joinedCustomer();
    h.telegram.failNext('banChatMember', { errorCode: 502, description: 'Bad Gateway' });

    await refund(paymentId);
    await settle();
    const [owed] = await sql(`select kind, attempts, last_error from telegram_outbox`);
    expect(owed).toMatchObject({ kind: 'removeChatMember', attempts: 1, last_error: expect.stringContaining('Bad Gateway') });
    expect((await subscription(subscriptionId)).access_removed_at).toBeNull();

    // The nightly run does not race the owed call: it leaves the subscription to the outbox.
    expect(await h.app.services.accessExpiry.run()).toMatchObject({ removed: 0, removalFailed: 0, erased: 0 });
    expect(h.telegram.callsTo('banChatMember')).toHaveLength(2);

    await sql(`update telegram_outbox set next_attempt_at = now() - interval '1 second'`);
    expect(await h.app.services.telegramOutbox.runDue(10)).toEqual({ attempted: 1 });
    expect(member(a.chatId)).toBe('left');
    expect(bannedChats()).toEqual([a.chatId, b.chatId].sort());
    expect((await subscription(subscriptionId)).access_removed_at).not.toBeNull();
    expect(await sql(`select * from telegram_outbox`)).toEqual([]);
  });

  it('a removal given up on raises an alert and is left to the expiry run, which then does it', async () => {
    const { a, paymentId, subscriptionId } = await joinedCustomer();
    h.telegram.failAll('banChatMember', { errorCode: 400, description: 'Bad Request: not enough rights to restrict/unrestrict chat member' });

    await refund(paymentId);
    await settle();
    expect(await subscription(subscriptionId)).toMatchObject({ access_removed_at: null, removal_error: expect.stringContaining('not enough rights') });
    const alerts = await sql(`select severity, subject_type from alerts where type = 'TELEGRAM_ACTION_FAILED'`);
    expect(alerts).toEqual([{ severity: 'HIGH', subject_type: 'channel' }, { severity: 'HIGH', subject_type: 'channel' }]);
    expect(member(a.chatId)).toBe('member');

    h.telegram.clearFaults();
    expect(await h.app.services.accessExpiry.run()).toMatchObject({ removed: 1 });
    expect(member(a.chatId)).toBe('left');
    expect(await subscription(subscriptionId)).toMatchObject({ removal_error: null, access_removed_at: expect.anything() });
  });
});
