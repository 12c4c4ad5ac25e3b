import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { buildDashboard, CHROMIUM_PATH, launchChromium } from '../support/browser';
import { createPayment, declinedPaymentEvent, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';
import { cuttableProxy } from '../support/net';
import { startFakeVerification, type FakeVerification } from '../../src/sandbox/verification/fake-verification.server';

/** `npm run screenshot` sets this to the README's picture; a plain test run keeps its own copy out of git. */
const SCREENSHOT_PATH = resolve(process.env.SCREENSHOT_PATH ?? '.recoup/test-output/dashboard.png');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const PAYMENT = `query($id: ID!) { payment(id: $id) { status deliveryStatus } }`;
const ALERT = `query($id: ID!) { alert(id: $id) { resolvedAt resolvedBy resolutionNote } }`;
const VERIFICATION_SECRET = 'dashboard-verification-secret-0123456789';

describe('operations dashboard in headless Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let dashboardDir: string;
  let verifier: FakeVerification;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH)`);
    dashboardDir = buildDashboard();
    // Every authorization counts as close to its deadline, so one reconciliation run flags it as stuck.
    verifier = await startFakeVerification({ webhookSecret: VERIFICATION_SECRET });
    h = await startHarness({ env: { DASHBOARD_DIR: dashboardDir, STUCK_AUTHORIZATION_MARGIN_HOURS: '168', RECONCILIATION_GRACE_MINUTES: '0', VERIFICATION_API_URL: verifier.url, VERIFICATION_WEBHOOK_SECRET: VERIFICATION_SECRET } });
    verifier.setWebhookUrl(`${h.url}/webhooks/verification`, { settled: () => h.app.services.intake.whenIdle() });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await verifier?.close();
    if (dashboardDir) rmSync(dashboardDir, { recursive: true, force: true });
  });
  beforeEach(async () => h.reset());
  // Uncaught errors in the page fail the test that caused them.
  const pageErrors: string[] = [];
  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  const customer = async (name: string, telegramUserId: string | null = null): Promise<string> =>
    must(await h.gql(`mutation($i: CustomerInput!) { createCustomer(input: $i) { id } }`, { i: { name, email: `${name.split(' ')[0].toLowerCase()}@example.com`, telegramUserId } })).createCustomer.id;

  const paymentOf = async (id: string) => must(await h.gql(PAYMENT, { id })).payment as { status: string; deliveryStatus: string | null };

  /**
   * What an operator finds on a bad morning, made through the real flows: a delivery Telegram
   * refused, a checkout still open, an authorization close to its deadline, and a payment someone
   * captured in Stripe's own dashboard (Stripe sent no event).
   */
  async function seedTroubledMorning() {
    const automatic = await seedCatalog(h);
    const manual = await seedCatalog(h, { captureMode: 'MANUAL', amountMinor: 9900 });

    h.telegram.failNext('sendMessage', { errorCode: 403, description: 'Forbidden: bot was blocked by the user' });
    const undelivered = await createPayment(h, automatic.customerId, automatic.planId);
    await h.stripe.completeCheckout(undelivered.stripeCheckoutSessionId);
    await eventually(async () => (await paymentOf(undelivered.id)).deliveryStatus === 'FAILED');

    const pending = await createPayment(h, await customer('Pat Pending', '700100301'), automatic.planId);

    // Manual-capture payments are captured once their links are out; these customers have not
    // linked Telegram yet, so their authorizations wait (AWAITING_CUSTOMER).
    const stuck = await createPayment(h, await customer('Sam Stuck'), manual.planId);
    await h.stripe.completeCheckout(stuck.stripeCheckoutSessionId);
    const drifted = await createPayment(h, await customer('Dee Drift'), manual.planId);
    const { paymentIntent } = await h.stripe.completeCheckout(drifted.stripeCheckoutSessionId);
    await eventually(async () => (await paymentOf(stuck.id)).status === 'AUTHORIZED' && (await paymentOf(drifted.id)).status === 'AUTHORIZED');
    h.stripe.setPaymentIntentStatus(paymentIntent.id, 'succeeded');
    // Stripe's `created` is whole seconds and the run's window ends at its start: let that second pass.
    await eventually(async () => Date.now() >= (paymentIntent.created + 1) * 1000, 3000);

    const run = must(await h.gql(`mutation { runReconciliation(wait: true) { status outOfSync stuckAuthorizations } }`, {}, { token: h.tokens.operator })).runReconciliation;
    expect(run).toEqual({ status: 'SUCCEEDED', outOfSync: 1, stuckAuthorizations: 1 });
    return { undelivered, pending, stuck, drifted };
  }

  async function openDashboard(token?: string, baseUrl = h.url): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(`${error.name}: ${error.message} ${error.stack}`));
    await page.goto(`${baseUrl}/dashboard/${token ? `#token=${token}` : ''}`);
    return page;
  }

  const liveBadge = (page: Page) => page.locator('.live-state[data-state="live"]');
  const alertCard = (page: Page, id: string) => page.locator(`#alerts [data-alert-id="${id}"]`);
  const row = (page: Page, panel: string, paymentId: string) => page.locator(`#${panel} tr[data-payment-id="${paymentId}"]`);

  it('shows live alerts, resolves one with its button, recovers a failed delivery, captures and syncs', async () => {
    const { undelivered, pending, stuck, drifted } = await seedTroubledMorning();
    const page = await openDashboard(h.tokens.operator);
    await liveBadge(page).waitFor();
    // The token came in the fragment and is gone from the address bar (and so from history).
    expect(page.url()).toBe(`${h.url}/dashboard/`);

    await row(page, 'deliveries', undelivered.id).waitFor();
    await row(page, 'pending', pending.id).waitFor();
    await row(page, 'issues', stuck.id).waitFor();
    await row(page, 'issues', drifted.id).waitFor();
    expect(await page.locator('#stats [data-stat="Failed delivery"] .value').textContent()).toBe('1');

    // An alert raised while the page is open appears without a reload.
    const { alert: live } = await h.app.services.alerts.raiseNow({
      type: AlertType.PAYMENT_FAILED,
      severity: AlertSeverity.CRITICAL,
      title: 'Card declined on renewal',
      detail: 'card_declined: insufficient_funds',
      subjectType: 'payment',
      subjectId: pending.id,
    });
    await alertCard(page, live.id).waitFor();
    await eventually(async () => (await page.locator('#alerts [data-severity="CRITICAL"] strong').textContent()) === '1');

    mkdirSync(dirname(SCREENSHOT_PATH), { recursive: true });
    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    const png = readFileSync(SCREENSHOT_PATH);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(statSync(SCREENSHOT_PATH).size).toBeGreaterThan(20_000);

    await alertCard(page, live.id).getByRole('button', { name: /^Resolve alert/ }).click();
    await alertCard(page, live.id).waitFor({ state: 'detached' });
    expect(must(await h.gql(ALERT, { id: live.id })).alert).toMatchObject({ resolvedBy: 'operator:olga-operator', resolutionNote: 'resolved from the dashboard' });

    // Resolved elsewhere (another operator, the API): it leaves this page too.
    const deliveryAlert = must(await h.gql(`{ alerts(filter: { open: true, types: [DELIVERY_FAILED] }) { edges { node { id } } } }`)).alerts.edges[0].node.id;
    await alertCard(page, deliveryAlert).waitFor();
    must(await h.gql(`mutation($id: ID!) { resolveAlert(id: $id, note: "customer unblocked the bot") { id } }`, { id: deliveryAlert }, { token: h.tokens.admin }));
    await alertCard(page, deliveryAlert).waitFor({ state: 'detached' });

    await row(page, 'deliveries', undelivered.id).getByRole('button', { name: `Recover payment ${undelivered.id}` }).click();
    await row(page, 'deliveries', undelivered.id).waitFor({ state: 'detached' });
    expect(await paymentOf(undelivered.id)).toEqual({ status: 'SUCCEEDED', deliveryStatus: 'DELIVERED' });
    expect(h.telegram.messagesTo(700100200)).toHaveLength(1);
    await eventually(async () => (await page.locator('#stats [data-stat="Failed delivery"] .value').textContent()) === '0');

    await row(page, 'issues', stuck.id).getByRole('button', { name: `Capture payment ${stuck.id}` }).click();
    await eventually(async () => (await paymentOf(stuck.id)).status === 'SUCCEEDED');
    await row(page, 'issues', stuck.id).waitFor({ state: 'detached' });
    await row(page, 'issues', drifted.id).getByRole('button', { name: `Sync payment ${drifted.id}` }).click();
    await eventually(async () => (await paymentOf(drifted.id)).status === 'SUCCEEDED');
    await row(page, 'issues', drifted.id).waitFor({ state: 'detached' });
    await expectNoToastErrors(page);
    await page.close();
  });

  it('charts the last 30 days of net revenue and deliveries, and a payment made while it is open moves both', async () => {
    const seed = await seedCatalog(h);
    const paid = async (customerId: string) => {
      const payment = await createPayment(h, customerId, seed.planId);
      await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
      await eventually(async () => (await paymentOf(payment.id)).deliveryStatus === 'DELIVERED');
    };
    const startedDay = Math.floor(Date.now() / 86_400_000);
    await paid(seed.customerId);
    const page = await openDashboard(h.tokens.viewer);
    await liveBadge(page).waitFor();
    const revenue = page.locator('#analytics [data-chart="revenue"]');
    const deliveries = page.locator('#analytics [data-chart="deliveries"]');
    await page.locator('#analytics [data-chart="revenue"][data-sum-minor="2500"]').waitFor();
    expect(await revenue.getAttribute('data-points')).toBe('30');
    expect(await revenue.getAttribute('data-currency')).toBe('usd');
    // uPlot drew it: a canvas of the chart's width, and the series' legend.
    expect(await revenue.locator('canvas').count()).toBeGreaterThan(0);
    expect(await revenue.locator('.u-legend').textContent()).toContain('Net');
    expect(await deliveries.getAttribute('data-sum-delivered')).toBe('1');
    expect(await page.locator('#analytics [data-summary="revenue"]').textContent()).toContain('Net $25.00');

    // Paid while the page is open: the live events re-read the series, no reload.
    await paid(await customer('Cara Second', '700100401'));
    await page.locator('#analytics [data-chart="revenue"][data-sum-minor="5000"]').waitFor();
    await page.locator('#analytics [data-chart="deliveries"][data-sum-delivered="2"]').waitFor();
    if (Math.floor(Date.now() / 86_400_000) === startedDay) {
      expect(await revenue.getAttribute('data-last-minor')).toBe('5000');
      expect(await deliveries.getAttribute('data-last-delivered')).toBe('2');
    }
    expect(await page.locator('#analytics [data-summary="revenue"]').textContent()).toContain('Net $50.00');
    expect(await page.locator('#analytics [data-summary="deliveries"]').textContent()).toContain('2 delivered');
    await expectNoToastErrors(page);
    await page.close();
  });

  it('lists a webhook event the inbox could not apply, and replays it with its button once the cause is gone', async () => {
    // Stripe's re-read fails while the payment_intent.payment_failed is applied: stored, not applied, waiting for a retry.
    const { paymentId, paymentIntent, event } = await declinedPaymentEvent(h);
    h.stripe.failNext({ method: 'GET', path: `/v1/payment_intents/${paymentIntent.id}` }, { status: 500 });
    expect(await h.stripe.sendEvent(event)).toBe(200);
    const [stored] = await h.app.services.db.fork().execute(`select id from gateway_events where event_id = ? and processed_at is null and last_error is not null`, [event.id]);
    expect(stored).toBeDefined();

    const page = await openDashboard(h.tokens.admin);
    await liveBadge(page).waitFor();
    const eventRow = page.locator(`#inbox tr[data-event-id="${stored.id}"]`);
    await eventRow.waitFor();
    expect(await eventRow.textContent()).toContain('payment_intent.payment_failed');

    await eventRow.getByRole('button', { name: `Replay event ${event.id}` }).click();
    await eventRow.waitFor({ state: 'detached' });
    await page.locator('.toast.info', { hasText: 'PENDING -> FAILED' }).waitFor();
    expect((await paymentOf(paymentId)).status).toBe('FAILED');
    expect(await page.locator('#inbox').textContent()).toContain('No failed webhook events.');
    await expectNoToastErrors(page);
    await page.close();
  });

  it('shows a customer blocked on verification the moment checkout refuses them, the rejection live, and drops them once an override verifies them', async () => {
    const { customerId, planId } = await seedCatalog(h);
    must(await h.gql(`mutation($id: ID!, $i: PlanInput!) { updatePlan(id: $id, input: $i) { id } }`, { id: planId, i: { requiresVerification: true, termsVersion: 'v1' } }));
    const page = await openDashboard(h.tokens.admin);
    await liveBadge(page).waitFor();
    await page.locator('#verification', { hasText: 'Nobody is blocked on verification.' }).waitFor();

    // Refused at checkout while the dashboard is open: the row appears without a reload.
    const checkout = must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome verification { verificationUrl } } }`, { i: { customerId, planId } }, { token: h.tokens.operator })).createPayment;
    expect(checkout.outcome).toBe('VERIFICATION_REQUIRED');
    const blocked = page.locator(`#verification tr[data-customer-id="${customerId}"]`);
    await blocked.locator('.badge', { hasText: 'PENDING' }).waitFor();
    expect(await blocked.textContent()).toContain('terms v1');

    // The provider's signed webhook rejects them: the same row turns REJECTED, with the reason.
    await verifier.complete(checkout.verification.verificationUrl.split('/verify/')[1], { outcome: 'rejected', reason: 'name does not match the PAN' });
    await blocked.locator('.badge', { hasText: 'REJECTED' }).waitFor();
    expect(await blocked.textContent()).toContain('name does not match the PAN');

    // An ADMIN verifies them by hand: they are no longer blocked, and the row goes.
    must(await h.gql(`mutation($c: ID!) { overrideVerification(customerId: $c, status: VERIFIED, note: "PAN checked by video call") { status } }`, { c: customerId }));
    await blocked.waitFor({ state: 'detached' });
    await page.locator('#verification', { hasText: 'Nobody is blocked on verification.' }).waitFor();
    await expectNoToastErrors(page);
    await page.close();
  });

  it('finds a payment by its Stripe charge id, its Checkout Session id or our id; says so when nothing matches', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    const { paymentIntent } = await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await paymentOf(payment.id)).status === 'SUCCEEDED');
    const chargeId = (paymentIntent as { latest_charge: string }).latest_charge;
    expect(chargeId).toMatch(/^ch_/);

    const page = await openDashboard(h.tokens.viewer);
    await liveBadge(page).waitFor();
    const box = page.getByLabel('Payment or Stripe id');
    const searchFor = async (text: string) => {
      await box.fill(text);
      await page.locator('#search').getByRole('button', { name: 'Search', exact: true }).click();
    };
    const summaryOf = (id: string) => page.locator('#search .summary', { hasText: id });
    const found = row(page, 'search', payment.id);

    // A charge id is not on our row: the server asks Stripe which intent it belongs to.
    await searchFor(chargeId);
    await summaryOf(chargeId).waitFor();
    expect(await found.locator('[data-status]').textContent()).toBe('SUCCEEDED');
    expect(await found.textContent()).toContain(payment.stripeCheckoutSessionId);
    expect(await found.textContent()).toContain(paymentIntent.id);
    expect(await found.textContent()).toContain('Dana Buyer');
    expect(await page.locator('#search tbody tr').count()).toBe(1);

    await searchFor(`  ${payment.stripeCheckoutSessionId} `);
    await summaryOf(payment.stripeCheckoutSessionId).waitFor();
    expect(await found.locator('[data-status]').textContent()).toBe('SUCCEEDED');

    // Its detail: the status history from the audit trail.
    await found.getByRole('button', { name: `Show details of payment ${payment.id}` }).click();
    const detail = page.locator(`#search tr[data-detail-for="${payment.id}"]`);
    await detail.waitFor();
    expect(await detail.textContent()).toContain('PENDING → SUCCEEDED');

    // Refunded elsewhere while shown: the row and its open detail follow.
    must(await h.gql(`mutation($id: ID!) { refundPayment(paymentId: $id, reason: "customer asked") { payment { id } } }`, { id: payment.id }, { token: h.tokens.operator }));
    await found.locator('[data-status="REFUNDED"]').waitFor();
    await detail.locator('td', { hasText: 'SUCCEEDED → REFUNDED' }).first().waitFor();

    await searchFor(payment.id.toUpperCase());
    await summaryOf(payment.id).waitFor();
    expect(await found.locator('[data-status]').textContent()).toBe('REFUNDED');

    await searchFor('ch_nobody_has_this');
    await page.locator('#search [data-search-result="none"]', { hasText: 'No payment has this id ch_nobody_has_this' }).waitFor();
    expect(await found.count()).toBe(0);
    await searchFor('00000000-0000-4000-8000-000000000000');
    await page.locator('#search [data-search-result="none"]', { hasText: '00000000-0000-4000-8000-000000000000' }).waitFor();

    // Nothing to look up: a hint, no request.
    await searchFor('   ');
    await page.locator('#search .hint', { hasText: 'Paste a payment id' }).waitFor();
    expect(await box.inputValue()).toBe('');
    await searchFor('Dana Buyer');
    await page.locator('#search .hint', { hasText: 'is not a payment id or a Stripe id' }).waitFor();
    expect(await page.locator('#search table').count()).toBe(0);
    await expectNoToastErrors(page);
    await page.close();
  });

  it('catches up after its connection was down: shows what was raised and drops what was resolved meanwhile', async () => {
    const raise = (title: string) => h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity: AlertSeverity.HIGH, title, detail: title, fingerprint: title });
    const { alert: shown } = await raise('Shown before the outage');
    // The page reaches Recoup through a proxy the test can take down: a network outage, or a restart.
    let proxy = await cuttableProxy(h.app.port);
    const port = Number(new URL(proxy.url).port);
    const page = await openDashboard(h.tokens.operator, proxy.url);
    try {
      await liveBadge(page).waitFor();
      await alertCard(page, shown.id).waitFor();

      await proxy.close();
      await page.locator('.live-state:not([data-state="live"])').waitFor();
      // Neither event can reach the page now.
      const { alert: missed } = await raise('Raised during the outage');
      must(await h.gql(`mutation($id: ID!) { resolveAlert(id: $id) { id } }`, { id: shown.id }, { token: h.tokens.admin }));
      proxy = await cuttableProxy(h.app.port, port);

      await liveBadge(page).waitFor({ timeout: 20_000 });
      await alertCard(page, missed.id).waitFor();
      await alertCard(page, shown.id).waitFor({ state: 'detached' });
    } finally {
      await page.close();
      await proxy.close();
    }
  });

  it('signs in from the form; a VIEWER sees everything but is refused an action, and the alert stays open', async () => {
    const { alert } = await h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity: AlertSeverity.HIGH, title: 'Viewer cannot resolve this', detail: 'x' });
    const page = await openDashboard();
    await page.getByLabel('API key or JWT').fill(h.tokens.viewer);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await liveBadge(page).waitFor();
    await alertCard(page, alert.id).waitFor();

    await alertCard(page, alert.id).getByRole('button', { name: /^Resolve alert/ }).click();
    await page.locator('.toast.error', { hasText: 'FORBIDDEN' }).waitFor();
    expect(await alertCard(page, alert.id).count()).toBe(1);
    expect(must(await h.gql(ALERT, { id: alert.id })).alert.resolvedAt).toBeNull();
    await page.close();
  });

  it('sends a refused credential back to the sign-in form with the reason', async () => {
    const page = await openDashboard('not-a-valid-key');
    await page.locator('.sign-in .error').waitFor();
    expect(await page.locator('.sign-in .error').textContent()).toMatch(/refused/);
    await page.close();
  });

  it('serves the page with a strict content security policy, and redirects /dashboard', async () => {
    const page = await fetch(`${h.url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('<div id="app">');
    const bare = await fetch(`${h.url}/dashboard`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/dashboard/']);
  });
});

async function expectNoToastErrors(page: Page): Promise<void> {
  const errors = await page.locator('.toast.error').allTextContents();
  expect(errors).toEqual([]);
}
