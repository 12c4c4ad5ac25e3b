import { REPLIES } from '../../src/access/telegram-binding.service';
import { startHarness, eventually, signToken, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';

const SECRET = 'tg-binding-secret';
let h: Harness;

const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const settle = async () => {
  await h.app.services.telegramOutbox.whenIdle();
  await h.app.services.dispatcher.whenIdle();
};
const textsTo = (userId: number) => h.telegram.messagesTo(userId).map((m) => m.text);

async function customerWithoutTelegram(): Promise<string> {
  const created = await h.gql(`mutation { createCustomer(input: { name: "Noor", email: "noor@example.com" }) { id } }`);
  return must(created).createCustomer.id as string;
}

/** Checkout through GraphQL, returning the payment and the deep link's one-time token. */
async function checkout(customerId: string, planId: string) {
  const result = must(await h.gql(
    `mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome telegramDeepLink payment { id stripeCheckoutSessionId } } }`,
    { i: { customerId, planId } },
    { token: h.tokens.operator },
  )).createPayment;
  const link = new URL(result.telegramDeepLink as string);
  return { payment: result.payment as { id: string; stripeCheckoutSessionId: string }, link, token: link.searchParams.get('start')! };
}

const deliveryOf = async (id: string) => (await sql(`select d.status as delivery_status, d.attempts as delivery_attempts from payments p left join deliveries d on d.payment_id = p.id where p.id = ?`, [id]))[0];
const telegramOf = async (customerId: string) => (await sql(`select telegram_user_id from customers where id = ?`, [customerId]))[0].telegram_user_id;

async function awaitingPayment() {
  const { planId } = await seedCatalog(h);
  const customerId = await customerWithoutTelegram();
  const { payment, token, link } = await checkout(customerId, planId);
  await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
  await eventually(async () => (await deliveryOf(payment.id)).delivery_status === 'AWAITING_CUSTOMER');
  return { customerId, payment, token, link };
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

describe('binding a customer to Telegram', () => {
  it('createPayment returns a one-time deep link to the bot; only a hash of the token is stored', async () => {
    const { planId } = await seedCatalog(h);
    const { link, token } = await checkout(await customerWithoutTelegram(), planId);
    expect(`${link.origin}${link.pathname}`).toBe('https://t.me/recoup_sandbox_bot');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await sql(`select token_hash, expires_at, used_at from telegram_binding_tokens`);
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).not.toContain(token);
    expect(stored[0].used_at).toBeNull();
    const days = (new Date(stored[0].expires_at).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
  });

  it('/start with a valid token binds the sender and delivers the payment that waited for them', async () => {
    const { customerId, payment, token } = await awaitingPayment();
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(0);

    const { status } = await h.telegram.simulateStart(555000111, token);
    expect(status).toBe(200);
    await eventually(async () => (await deliveryOf(payment.id)).delivery_status === 'DELIVERED');
    await settle();

    expect(await telegramOf(customerId)).toBe('555000111');
    // Attempts are kept: the one that found nobody to message, then the delivery.
    expect((await deliveryOf(payment.id)).delivery_attempts).toBe(2);
    const sent = h.telegram.callsTo('sendMessage');
    expect(sent).toHaveLength(1);
    expect(String(sent[0].params.chat_id)).toBe('555000111');
    expect(String(sent[0].params.text)).toContain('Pro monthly');
    const [used] = await sql(`select used_at, used_by_telegram_user_id from telegram_binding_tokens`);
    expect(used.used_at).not.toBeNull();
    expect(used.used_by_telegram_user_id).toBe('555000111');
  });

  it('a reused token binds nothing for the second user, who gets a reply and no links', async () => {
    const { customerId, payment, token } = await awaitingPayment();
    await h.telegram.simulateStart(555000111, token);
    await eventually(async () => (await deliveryOf(payment.id)).delivery_status === 'DELIVERED');

    const { status } = await h.telegram.simulateStart(666000222, token);
    expect(status).toBe(200);
    await settle();
    expect(await telegramOf(customerId)).toBe('555000111');
    expect(textsTo(666000222)).toEqual([REPLIES.used]);
  });

  it('a forged token binds nothing and gets a helpful reply', async () => {
    const { customerId, payment } = await awaitingPayment();
    await h.telegram.simulateStart(666000222, 'forged-token-0123456789');
    await h.telegram.simulateStart(666000222, 'not a token at all <script>');
    await settle();
    expect(await telegramOf(customerId)).toBeNull();
    expect((await deliveryOf(payment.id)).delivery_status).toBe('AWAITING_CUSTOMER');
    expect(textsTo(666000222)).toEqual([REPLIES.invalid, REPLIES.invalid]);
  });

  it('an expired token binds nothing', async () => {
    const { customerId, token } = await awaitingPayment();
    await sql(`update telegram_binding_tokens set expires_at = now() - interval '1 minute'`);
    await h.telegram.simulateStart(555000111, token);
    await settle();
    expect(await telegramOf(customerId)).toBeNull();
    expect(textsTo(555000111)).toEqual([REPLIES.expired]);
  });

  it('a customer bound to another account is not rebound by a link, and the token stays usable', async () => {
    const { customerId, token } = await awaitingPayment();
    await sql(`update customers set telegram_user_id = '111' where id = ?`, [customerId]);
    await h.telegram.simulateStart(666000222, token);
    await settle();
    expect(await telegramOf(customerId)).toBe('111');
    expect(textsTo(666000222)).toEqual([REPLIES.otherAccount]);
    expect((await sql(`select used_at from telegram_binding_tokens`))[0].used_at).toBeNull();
  });

  it("a bare /start from a bound customer wakes a delivery stuck on \"can't initiate conversation\"", async () => {
    const { customerId, planId } = await seedCatalog(h);
    h.telegram.failNext('sendMessage', { errorCode: 403, description: "Forbidden: bot can't initiate conversation with a user" });
    const created = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(created.stripeCheckoutSessionId);
    await eventually(async () => (await deliveryOf(created.id)).delivery_status === 'AWAITING_CUSTOMER');

    await h.telegram.simulateStart(700100200);
    await eventually(async () => (await deliveryOf(created.id)).delivery_status === 'DELIVERED');
    await settle();
    expect(textsTo(700100200)).toHaveLength(1);
  });

  it('createTelegramLink: a customer gets a link for themselves, never for someone else', async () => {
    const own = await customerWithoutTelegram();
    const other = await customerWithoutTelegram();
    const token = await signToken(own, 'CUSTOMER');
    const mine = await h.gql(`mutation { createTelegramLink { url expiresAt } }`, {}, { token });
    expect(must(mine).createTelegramLink.url).toMatch(/^https:\/\/t\.me\/recoup_sandbox_bot\?start=/);
    const theirs = await h.gql(`mutation($c: ID) { createTelegramLink(customerId: $c) { url } }`, { c: other }, { token });
    expect(theirs.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await sql(`select customer_id from telegram_binding_tokens`)).toEqual([{ customer_id: own }]);
  });
});
