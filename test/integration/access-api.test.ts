import type { ManualClock } from '../../src/platform/shared/clock';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { eventually, signToken, startHarness, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';

/** A real SMTP server on loopback that keeps what it receives. */
async function startSmtp(): Promise<{ url: string; messages: string[]; close(): Promise<void> }> {
  const messages: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
      stream.on('end', () => {
        messages.push(data);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('access API, test links and the email fallback', () => {
  let h: Harness;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    h = await startHarness({ clock: 'manual', env: { SMTP_URL: smtp.url, EMAIL_FALLBACK_GRACE_MINUTES: '10' } });
  });
  afterAll(async () => {
    await h?.close();
    await smtp?.close();
  });
  beforeEach(async () => {
    await h.reset();
    smtp.messages.length = 0;
  });

  it('customerAccess shows channels, link and status; a customer reads only their own', async () => {
    const seed = await seedCatalog(h);
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => h.telegram.callsTo('sendMessage').length === 1);

    const own = await signToken(seed.customerId, 'CUSTOMER');
    const access = must(await h.gql(`query($id: ID!) { customerAccess(customerId: $id) { telegramLinked subscriptions { subscription { status } bundleName channels { title linkStatus inviteLink } } } }`, { id: seed.customerId }, { token: own })).customerAccess;
    expect(access.telegramLinked).toBe(true);
    expect(access.subscriptions[0].subscription.status).toBe('ACTIVE');
    expect(access.subscriptions[0].channels[0]).toMatchObject({ title: 'Signals', linkStatus: 'OPEN' });
    expect(access.subscriptions[0].channels[0].inviteLink).toMatch(/^https:\/\/t\.me\//);

    const other = await signToken('00000000-0000-4000-8000-000000000001', 'CUSTOMER');
    const refused = await h.gql(`query($id: ID!) { customerAccess(customerId: $id) { customerId } }`, { id: seed.customerId }, { token: other });
    expect(refused.errors?.[0].extensions?.code).toBe('NOT_FOUND');

    const stats = must(await h.gql(`{ accessStats { active expiringIn7Days lapsedToday removalsFailed } }`)).accessStats;
    expect(stats).toEqual({ active: 1, expiringIn7Days: 0, lapsedToday: 0, removalsFailed: 0 });
  });

  it('a test link removes its member when it ends (ban then unban), and only an ADMIN can make one', async () => {
    const seed = await seedCatalog(h);
    const viewer = await h.gql(`mutation($c: ID!) { createTestInviteLink(channelId: $c, expiresIn: "1m") { id } }`, { c: seed.channelId }, { token: h.tokens.operator });
    expect(viewer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const bad = await h.gql(`mutation($c: ID!) { createTestInviteLink(channelId: $c, expiresIn: "forever") { id } }`, { c: seed.channelId });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const link = must(await h.gql(`mutation($c: ID!) { createTestInviteLink(channelId: $c, expiresIn: "1m") { id telegramInviteLink accessEndsAt } }`, { c: seed.channelId })).createTestInviteLink;
    // Someone joins through it (as the join handler records it).
    await h.app.services.db.fork().execute(`update invite_links set used_by_telegram_user_id = '555', used_at = now() where id = ?`, [link.id]);

    expect(await h.app.services.testLinks.removeAccess(link.id)).toBe(false); // not yet: the minute has not passed
    (h.clock as ManualClock).set(new Date(h.clock.now().getTime() + 61_000));
    expect(await h.app.services.testLinks.removeAccess(link.id)).toBe(true);
    expect(h.telegram.callsTo('banChatMember').map((c) => String(c.params.user_id))).toEqual(['555']);
    expect(h.telegram.callsTo('unbanChatMember')).toHaveLength(1);
    expect(await h.app.services.testLinks.removeAccess(link.id)).toBe(false); // done once
  });

  it('emails the links when the customer blocked the bot', async () => {
    const seed = await seedCatalog(h);
    const payment = await createPayment(h, seed.customerId, seed.planId);
    h.telegram.failAll('sendMessage', { errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await h.app.services.db.fork().execute(`select 1 from deliveries where status = 'FAILED'`)).length === 1);

    expect(await h.app.services.emailFallback.run()).toEqual({ emailed: 1, failed: 0 });
    await eventually(async () => smtp.messages.length === 1);
    expect(smtp.messages[0]).toContain('To: dana@example.com');
    expect(smtp.messages[0]).toContain('https://t.me/');
    expect(await h.app.services.emailFallback.run()).toEqual({ emailed: 0, failed: 0 }); // never twice
  });

  it('emails a customer who has not started the bot after the grace period, not before', async () => {
    const seed = await seedCatalog(h);
    await h.gql(`mutation($id: ID!) { updateCustomer(id: $id, input: { telegramUserId: null }) { id } }`, { id: seed.customerId });
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await h.app.services.db.fork().execute(`select 1 from deliveries where status = 'AWAITING_CUSTOMER'`)).length === 1);

    expect((await h.app.services.emailFallback.run()).emailed).toBe(0);
    (h.clock as ManualClock).set(new Date(h.clock.now().getTime() + 11 * 60_000));
    expect((await h.app.services.emailFallback.run()).emailed).toBe(1);
  });

  it('a claim whose sender died is taken again when its lease ends, not before', async () => {
    const seed = await seedCatalog(h);
    const payment = await createPayment(h, seed.customerId, seed.planId);
    h.telegram.failAll('sendMessage', { errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await h.app.services.db.fork().execute(`select 1 from deliveries where status = 'FAILED'`)).length === 1);
    // As a process killed between its claim and the send leaves it: the claim's lease runs 5 minutes.
    await h.app.services.db.fork().execute(`update deliveries set email_claimed_at = ? where payment_id = ?`, [new Date(h.clock.now().getTime() + 5 * 60_000), payment.id]);

    expect((await h.app.services.emailFallback.run()).emailed).toBe(0);
    (h.clock as ManualClock).set(new Date(h.clock.now().getTime() + 5 * 60_000 + 1000));
    expect((await h.app.services.emailFallback.run()).emailed).toBe(1);
    await eventually(async () => smtp.messages.length === 1);
  });
});
