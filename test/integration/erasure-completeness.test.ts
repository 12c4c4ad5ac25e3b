import { ManualClock } from '../../src/platform/shared/clock';
import { eventually, startHarness, type Harness } from '../support/harness';
import { must } from '../support/fixtures';

/**
 * Erasure must reach every copy of a customer's personal data, not only their row. A customer's
 * data is spread through the real flows (Stripe checkout, refund and dispute webhooks, Telegram
 * binding, join request and join, an operator's notes), their access lapses, the nightly expiry job
 * erases them, and then every text, varchar, json and jsonb column of every table is searched.
 */
const SECRET = 'tg-erasure-secret';
const DAY = 86_400_000;

interface Person {
  name: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  telegramId: number;
  username: string;
}

const ERASED: Person = {
  name: 'Mirela Kowalczyk', firstName: 'Mirela', lastName: 'Kowalczyk', email: 'mirela.kowalczyk@example.org',
  phone: '+48601234567', telegramId: 812345678, username: 'mirela_kw',
};
const KEPT: Person = {
  name: 'Tobias Lindqvist', firstName: 'Tobias', lastName: 'Lindqvist', email: 'tobias.lindqvist@example.net',
  phone: '+46701234599', telegramId: 823456789, username: 'tobias_lq',
};
/** What must be gone (or kept): the values as stored, and as Stripe and Telegram spell them. */
const needles = (p: Person) => [p.name, p.lastName, p.email, p.phone, p.phone.slice(1), String(p.telegramId), p.username];

let h: Harness;
const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const settle = async () => {
  await h.app.services.telegramOutbox.whenIdle();
  await h.app.services.dispatcher.whenIdle();
  await h.stripe.whenIdle();
};

/** Every text, varchar, json and jsonb column of every table in the public schema: a future table is included. */
async function columnsContaining(needle: string): Promise<string[]> {
  const columns: Array<{ table_name: string; column_name: string }> = await sql(
    `select c.table_name, c.column_name from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema = 'public' and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb')
      order by c.table_name, c.column_name`,
  );
  expect(columns.length).toBeGreaterThan(50);
  const found: string[] = [];
  for (const { table_name, column_name } of columns) {
    const rows = await sql(`select 1 from "${table_name}" where strpos(lower("${column_name}"::text), lower(?)) > 0 limit 1`, [needle]);
    if (rows.length > 0) found.push(`${table_name}.${column_name}`);
  }
  return found;
}

async function leftovers(p: Person): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const needle of needles(p)) {
    const found = await columnsContaining(needle);
    if (found.length > 0) result[needle] = found;
  }
  return result;
}

const tgUser = (p: Person) => ({ id: p.telegramId, is_bot: false, first_name: p.firstName, last_name: p.lastName, username: p.username, language_code: 'pl' });
const privateChat = (p: Person) => ({ id: p.telegramId, type: 'private' as const, first_name: p.firstName, last_name: p.lastName, username: p.username });

async function catalog(durationDays: number, chatId: string) {
  const channelId = must(await h.gql(`mutation($i: ChannelInput!) { createChannel(input: $i) { id } }`, { i: { telegramChatId: chatId, title: 'Signals' } })).createChannel.id as string;
  const bundleId = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: `Bundle ${durationDays}`, channelIds: [channelId] } })).createBundle.id as string;
  const planId = must(await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, { i: { bundleId, name: `Plan ${durationDays}`, amountMinor: 2500, currency: 'usd', durationDays } })).createPlan.id as string;
  return { planId, chatId: Number(chatId) };
}

/**
 * One customer through everything that copies their data: a join request before they are bound
 * (declined, and the decline left owed because Telegram is failing), checkout paid with their
 * details typed on Stripe's page, /start with the deep link from their own Telegram account,
 * delivery, the join, an operator's refund and alert note naming them, a dispute that names only
 * the charge, and a Stripe customer object carrying their email.
 */
async function spread(p: Person, shop: { planId: string; chatId: number }) {
  const customerId = must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name: p.name, email: p.email, phone: p.phone } })).createCustomer.id as string;

  h.telegram.failAll('declineChatJoinRequest', { errorCode: 500, description: 'Internal Server Error' });
  expect(await h.telegram.pushUpdate({ chat_join_request: { chat: { id: shop.chatId, type: 'supergroup', title: 'Signals' }, from: tgUser(p), user_chat_id: p.telegramId, date: Math.floor(Date.now() / 1000) } })).toBe(200);
  await settle();

  const created = must(await h.gql(
    `mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome telegramDeepLink payment { id stripeCheckoutSessionId } } }`,
    { i: { customerId, planId: shop.planId } },
    { token: h.tokens.operator },
  )).createPayment;
  const payment = created.payment as { id: string; stripeCheckoutSessionId: string };
  const token = new URL(created.telegramDeepLink as string).searchParams.get('start')!;
  await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { email: p.email, name: p.name, phone: p.phone });
  await eventually(async () => (await sql(`select (select d.status from deliveries d where d.payment_id = p.id) as delivery_status from payments p where p.id = ?`, [payment.id]))[0].delivery_status === 'AWAITING_CUSTOMER');

  h.telegram.userStartedBot(p.telegramId);
  expect(await h.telegram.pushUpdate({ message: { message_id: 1, from: tgUser(p), chat: privateChat(p), date: Math.floor(Date.now() / 1000), text: `/start ${token}`, entities: [{ type: 'bot_command', offset: 0, length: 6 }] } })).toBe(200);
  await eventually(async () => (await sql(`select (select d.status from deliveries d where d.payment_id = p.id) as delivery_status from payments p where p.id = ?`, [payment.id]))[0].delivery_status === 'DELIVERED');
  await settle();
  const [link] = await sql(`select telegram_invite_link from invite_links where payment_id = ?`, [payment.id]);
  expect((await h.telegram.simulateJoin(p.telegramId, shop.chatId, link.telegram_invite_link)).status).toBe(200);
  await settle();

  const refund = must(await h.gql(
    `mutation($id: ID!, $reason: String!) { refundPayment(paymentId: $id, amountMinor: 500, reason: $reason) { payment { refundedMinor } } }`,
    { id: payment.id, reason: `goodwill for ${p.name} (${p.email}, ${p.phone})` },
    { token: h.tokens.operator },
  )).refundPayment;
  expect(refund.payment.refundedMinor).toBe(500);
  await settle();

  const [{ stripe_payment_intent_id: pi }] = await sql(`select stripe_payment_intent_id from payments where id = ?`, [payment.id]);
  const charge = h.stripe.store.charges.newestFirst().find((c) => c.payment_intent === pi)!;
  expect(charge.billing_details).toMatchObject({ name: p.name, email: p.email });
  // A dispute update that names only the charge, its evidence full of the payer's details.
  const dispute = h.stripe.createEvent('charge.dispute.created', {
    id: `dp_${Math.random().toString(36).slice(2, 12)}`, object: 'dispute', amount: 500, currency: 'usd', charge: charge.id, status: 'needs_response', reason: 'fraudulent',
    evidence: { customer_name: p.name, customer_email_address: p.email, billing_address: `${p.name}, 1 Main St` },
  });
  expect(await h.stripe.sendEvent(dispute)).toBe(200);
  // A Stripe customer we never linked to a payment: only its email says whose it is.
  const stripeCustomer = h.stripe.createEvent('customer.updated', { id: `cus_${Math.random().toString(36).slice(2, 12)}`, object: 'customer', email: p.email, name: p.name, phone: p.phone, created: 1 });
  expect(await h.stripe.sendEvent(stripeCustomer)).toBe(200);

  const alerts = must(await h.gql(`{ alerts(first: 50) { edges { node { id resolvedAt } } } }`)).alerts.edges as Array<{ node: { id: string; resolvedAt: string | null } }>;
  expect(alerts.length).toBeGreaterThan(0);
  const open = alerts.find((a) => !a.node.resolvedAt);
  if (open) must(await h.gql(`mutation($id: ID!, $note: String) { resolveAlert(id: $id, note: $note) { id } }`, { id: open.node.id, note: `called ${p.name} on ${p.phone}` }));
  return { customerId, paymentId: payment.id };
}

beforeAll(async () => {
  h = await startHarness({ clock: new ManualClock(new Date()), env: { TELEGRAM_WEBHOOK_SECRET: SECRET } });
  await h.app.services.telegramUpdates.registerWebhook(`${h.url}/webhooks/telegram`);
});
afterAll(async () => {
  await settle();
  await h?.close();
});

describe('erasure reaches every copy of personal data', () => {
  it('after the expiry job erases a lapsed customer, no column of any table holds their name, email, phone or Telegram id; another customer keeps theirs', async () => {
    const monthly = await catalog(30, `-100${Math.floor(Math.random() * 1e10)}`);
    const yearly = await catalog(365, `-100${Math.floor(Math.random() * 1e10)}`);
    const erased = await spread(ERASED, monthly);
    const kept = await spread(KEPT, yearly);
    h.telegram.clearFaults();

    // The data really is spread: gateway payloads, audit values, the outbox, invite links, binding tokens.
    const before = await leftovers(ERASED);
    expect(before[ERASED.email]).toEqual(expect.arrayContaining(['customers.email', 'gateway_events.payload', 'refunds.reason', 'audit_entries.note']));
    expect(before[String(ERASED.telegramId)]).toEqual(expect.arrayContaining(['customers.telegram_user_id', 'gateway_events.payload', 'audit_entries.after', 'telegram_outbox.params', 'invite_links.used_by_telegram_user_id', 'telegram_binding_tokens.used_by_telegram_user_id']));
    expect(before[ERASED.lastName]).toEqual(expect.arrayContaining(['customers.name', 'gateway_events.payload', 'alerts.resolution_note']));

    (h.clock as ManualClock).advance(31 * DAY);
    const report = await h.app.services.accessExpiry.run();
    expect(report).toMatchObject({ lapsed: 1, removed: 1, erased: 1 });

    const customer = must(await h.gql(`query($id: ID!) { customer(id: $id) { name email phone telegramUserId anonymizedAt } }`, { id: erased.customerId })).customer;
    expect(customer).toMatchObject({ name: null, email: null, phone: null, telegramUserId: null });
    expect(customer.anonymizedAt).toBeTruthy();

    expect(await leftovers(ERASED)).toEqual({});

    // Not wiped wholesale: the other customer's copies are all still there.
    const still = await leftovers(KEPT);
    expect(Object.keys(still).sort()).toEqual(needles(KEPT).sort());
    expect(still[KEPT.email]).toEqual(expect.arrayContaining(['customers.email', 'gateway_events.payload', 'refunds.reason']));
    expect(still[String(KEPT.telegramId)]).toEqual(expect.arrayContaining(['customers.telegram_user_id', 'gateway_events.payload', 'audit_entries.after']));
    const keptCustomer = must(await h.gql(`query($id: ID!) { customer(id: $id) { name email anonymizedAt } }`, { id: kept.customerId })).customer;
    expect(keptCustomer).toEqual({ name: KEPT.name, email: KEPT.email, anonymizedAt: null });

    // What accounting needs stays: the payment, and each of its Stripe events with ids, amounts and status.
    const payment = must(await h.gql(`query($id: ID!) { payment(id: $id) { status amountMinor refundedMinor stripePaymentIntentId } }`, { id: erased.paymentId })).payment;
    expect(payment).toMatchObject({ status: 'SUCCEEDED', amountMinor: 2500, refundedMinor: 500 });
    const events: Array<{ type: string; payload: any }> = await sql(
      `select type, payload from gateway_events where gateway = 'stripe' and payload #>> '{data,object,payment_intent}' = ? or payload #>> '{data,object,id}' = ?`,
      [payment.stripePaymentIntentId, payment.stripePaymentIntentId],
    );
    const charged = events.find((e) => e.type === 'charge.succeeded')!;
    expect(charged.payload).toMatchObject({ type: 'charge.succeeded', redacted: true, data: { object: { object: 'charge', amount: 2500, currency: 'usd', status: 'succeeded', payment_intent: payment.stripePaymentIntentId } } });
    expect(charged.payload.data.object.billing_details).toBeUndefined();
    expect(events.find((e) => e.type === 'payment_intent.succeeded')!.payload.data.object).toMatchObject({ id: payment.stripePaymentIntentId, amount_received: 2500, metadata: { paymentId: erased.paymentId } });
  });
});
