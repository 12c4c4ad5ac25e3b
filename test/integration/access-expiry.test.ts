import type { ManualClock } from '../../src/platform/shared/clock';
import { eventually, startHarness, type Harness } from '../support/harness';
import { createPayment, must, seedCatalog } from '../support/fixtures';

const DAY = 86_400_000;

/** Every text column of every table, searched for a value: personal data must be nowhere. */
async function tablesContaining(h: Harness, needle: string): Promise<string[]> {
  const em = h.app.services.db.fork();
  const columns: Array<{ table_name: string; column_name: string }> = await em.execute(
    `select table_name, column_name from information_schema.columns
      where table_schema = 'public' and data_type in ('text', 'character varying', 'jsonb')`,
  );
  const found: string[] = [];
  for (const { table_name, column_name } of columns) {
    const rows = await em.execute(`select 1 from "${table_name}" where "${column_name}"::text like ? limit 1`, [`%${needle}%`]);
    if (rows.length > 0) found.push(`${table_name}.${column_name}`);
  }
  return found;
}

describe('access expiry: removal and personal-data deletion', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  async function paidCustomer(seed: Awaited<ReturnType<typeof seedCatalog>>) {
    const payment = await createPayment(h, seed.customerId, seed.planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await h.app.services.db.fork().execute(`select 1 from deliveries where payment_id = ? and status = 'DELIVERED'`, [payment.id])).length > 0);
    return payment;
  }

  it('lapses an ended subscription, removes the member (ban then unban), revokes links and erases personal data', async () => {
    const seed = await seedCatalog(h);
    await paidCustomer(seed);
    (h.clock as ManualClock).set(new Date(h.clock.now().getTime() + 31 * DAY));

    const report = await h.app.services.accessExpiry.run();

    expect(report).toMatchObject({ lapsed: 1, removed: 1, removalFailed: 0, erased: 1 });
    expect(h.telegram.callsTo('banChatMember').map((c) => String(c.params.user_id))).toEqual(['700100200']);
    expect(h.telegram.callsTo('unbanChatMember')[0].params).toMatchObject({ only_if_banned: true });
    // The 24-hour link expired long ago: it is marked revoked without a call to Telegram.
    expect(h.telegram.callsTo('revokeChatInviteLink')).toHaveLength(0);
    const links: Array<{ revoked_at: Date | null }> = await h.app.services.db.fork().execute(`select revoked_at from invite_links`);
    expect(links.every((l) => l.revoked_at)).toBe(true);
    const sub = must(await h.gql(`{ customer(id: "${seed.customerId}") { name email phone telegramUserId anonymizedAt } }`)).customer;
    expect(sub).toMatchObject({ name: null, email: null, phone: null, telegramUserId: null });
    expect(sub.anonymizedAt).toBeTruthy();
    expect(await tablesContaining(h, 'dana@example.com')).toEqual([]);
    expect(await tablesContaining(h, '4155550100')).toEqual([]);
    expect(await tablesContaining(h, '700100200')).toEqual([]);
    const payments = must(await h.gql(`{ payments { edges { node { status amountMinor stripePaymentIntentId } } } }`)).payments.edges;
    expect(payments[0].node).toMatchObject({ status: 'SUCCEEDED', amountMinor: 2500 });
    expect(payments[0].node.stripePaymentIntentId).toMatch(/^pi_/);
  });

  it('keeps a channel another live subscription still covers', async () => {
    const seed = await seedCatalog(h);
    await paidCustomer(seed);
    const second = must(await h.gql(`mutation($i: BundleInput!) { createBundle(input: $i) { id } }`, { i: { name: 'Second', channelIds: [seed.channelId] } })).createBundle.id;
    const plan2 = must(await h.gql(`mutation($i: PlanInput!) { createPlan(input: $i) { id } }`, { i: { bundleId: second, name: 'Long', amountMinor: 9900, currency: 'usd', durationDays: 365 } })).createPlan.id;
    await paidCustomer({ ...seed, planId: plan2 });
    (h.clock as ManualClock).set(new Date(h.clock.now().getTime() + 31 * DAY));

    const report = await h.app.services.accessExpiry.run();

    expect(report).toMatchObject({ lapsed: 1, removed: 1, erased: 0 });
    expect(h.telegram.callsTo('banChatMember')).toHaveLength(0);
  });

  it('retries the removal on the next run when Telegram fails, without losing the record', async () => {
    const seed = await seedCatalog(h);
    await paidCustomer(seed);
    (h.clock as ManualClock).set(new Date(h.clock.now().getTime() + 31 * DAY));
    h.telegram.failAll('banChatMember', { errorCode: 500, description: 'Internal Server Error' });

    const first = await h.app.services.accessExpiry.run();
    expect(first).toMatchObject({ lapsed: 1, removed: 0, removalFailed: 1, erased: 0 });
    const subs: Array<{ removal_error: string | null }> = await h.app.services.db.fork().execute(`select removal_error from subscriptions`);
    expect(subs[0].removal_error).toContain('Internal Server Error');

    h.telegram.clearFaults();
    const second = await h.app.services.accessExpiry.run();
    expect(second).toMatchObject({ lapsed: 0, removed: 1, erased: 1 });
  });
});
