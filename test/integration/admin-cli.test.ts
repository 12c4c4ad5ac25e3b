import { endpointFromEnv, runAdmin } from '../../client-examples/admin-cli';
import type { RecoupEndpoint } from '../../client-examples/client';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { Payment } from '../../src/payments/payment.entity';
import { createPayment, must, paymentStatus, seedCatalog } from '../support/fixtures';
import { API_KEY, eventually, startHarness, type Harness } from '../support/harness';
import { closedPort } from '../support/net';

/** Runs the admin CLI in-process against an endpoint; answers its exit code and output. */
async function run(endpoint: RecoupEndpoint, argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runAdmin(argv, endpoint, (l) => stdout.push(l), (l) => stderr.push(l));
  return { code, stdout, stderr, json: () => JSON.parse(stdout.join('\n')) };
}

const admin = (url: string, token: string, ...argv: string[]) => run({ url, token }, argv);

const BLOCKED = { errorCode: 403, description: 'Forbidden: bot was blocked by the user' };
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

const raise = (h: Harness, fingerprint: string, severity = AlertSeverity.HIGH) =>
  h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity, title: `Payment failed (${fingerprint})`, detail: 'card_declined', fingerprint });

describe('admin CLI against a real server', () => {
  let h: Harness;
  beforeAll(async () => {
    // No grace period: reconciliation judges the payments these tests made a moment ago.
    h = await startHarness({ env: { RECONCILIATION_GRACE_MINUTES: '0' } });
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  it('admin payments --json lists a payment created through checkout', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);

    const all = await admin(h.url, h.tokens.viewer, 'payments', '--json');
    expect(all.code).toBe(0);
    expect(all.json()).toMatchObject({ totalCount: 1, payments: [{ id: payment.id, status: 'PENDING', amountMinor: 2500, currency: 'usd', customerId }] });

    const none = await admin(h.url, h.tokens.viewer, 'payments', '--status', 'succeeded', '--first', '5', '--json');
    expect(none.json()).toEqual({ totalCount: 0, payments: [], nextCursor: null });
    const text = await admin(h.url, h.tokens.viewer, 'payments');
    expect(text.stdout[0]).toContain(payment.id);
    expect(text.stdout[0]).toContain('$25.00');
  });

  it('admin alerts --open shows an open alert, resolve-alert resolves it with the note', async () => {
    const { alert } = await raise(h, 'cli-resolve');

    const open = await admin(h.url, h.tokens.viewer, 'alerts', '--open');
    expect(open.code).toBe(0);
    expect(open.stdout[0]).toContain(alert.id);
    expect(open.stdout[0]).toContain('PAYMENT_FAILED');
    expect(open.stdout.at(-1)).toBe('1 of 1 open alert(s)');

    const resolved = await admin(h.url, h.tokens.operator, 'resolve-alert', alert.id, '--note', 'refunded by hand', '--json');
    expect(resolved).toMatchObject({ code: 0, stderr: [] });
    expect(resolved.json()).toMatchObject({ id: alert.id, resolvedBy: 'operator:olga-operator', resolutionNote: 'refunded by hand' });

    const stored = must(await h.gql(`query($id: ID!) { alert(id: $id) { resolvedAt resolvedBy resolutionNote } }`, { id: alert.id }));
    expect(stored.alert).toMatchObject({ resolvedBy: 'operator:olga-operator', resolutionNote: 'refunded by hand' });
    expect(stored.alert.resolvedAt).toBeTruthy();
    expect((await admin(h.url, h.tokens.viewer, 'alerts', '--open', '--json')).json()).toEqual({ totalCount: 0, alerts: [], nextCursor: null });
  });

  it('exits 1 with the error code when a VIEWER tries to resolve, and leaves the alert open', async () => {
    const { alert } = await raise(h, 'cli-forbidden');

    const result = await admin(h.url, h.tokens.viewer, 'resolve-alert', alert.id, '--note', 'x');

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/^error: FORBIDDEN: /);
    const stored = must(await h.gql(`query($id: ID!) { alert(id: $id) { resolvedAt } }`, { id: alert.id }));
    expect(stored.alert.resolvedAt).toBeNull();
  });

  it('exits 2 when the server cannot be reached and 64 on bad usage', async () => {
    const port = await closedPort();
    const down = await admin(`http://127.0.0.1:${port}`, h.tokens.admin, 'alerts');
    expect(down.code).toBe(2);
    expect(down.stderr).toEqual([`error: NETWORK: cannot reach http://127.0.0.1:${port}/graphql: ECONNREFUSED`]);
    expect((await admin(h.url, h.tokens.admin, 'payments', '--first', '0')).code).toBe(64);
    expect((await admin(h.url, h.tokens.admin, 'refund')).code).toBe(64);
    expect((await admin(h.url, h.tokens.admin, 'resolve-alert')).code).toBe(64);
  });

  const DELIVERY = `query($id: ID!) { payment(id: $id) { status deliveryStatus deliveryAttempts deliveryRecovered deliveryFailureReason } }`;
  const deliveryOf = async (id: string) => must(await h.gql(DELIVERY, { id })).payment;
  const db = () => h.app.services.db.fork();

  /** A paid payment of a new customer called `name`; Telegram refuses its invite message (bot blocked): delivery FAILED. */
  async function failedDelivery(name: string): Promise<string> {
    const { customerId, planId } = await seedCatalog(h);
    must(await h.gql(`mutation($id: ID!, $i: CustomerInput!) { updateCustomer(id: $id, input: $i) { id } }`, { id: customerId, i: { name } }));
    const payment = await createPayment(h, customerId, planId);
    h.telegram.failNext('sendMessage', BLOCKED);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await deliveryOf(payment.id)).deliveryStatus === 'FAILED');
    return payment.id;
  }

  /** A paid payment whose customer never linked Telegram: delivery AWAITING_CUSTOMER (and, under MANUAL capture, still AUTHORIZED). */
  async function awaitingCustomer(captureMode: 'AUTOMATIC' | 'MANUAL' = 'AUTOMATIC'): Promise<string> {
    const { customerId, planId } = await seedCatalog(h, { captureMode });
    await db().execute(`update customers set telegram_user_id = null where id = ?`, [customerId]);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await deliveryOf(payment.id)).deliveryStatus === 'AWAITING_CUSTOMER');
    return payment.id;
  }

  const intentOf = async (paymentId: string) => (await db().findOneOrFail(Payment, paymentId)).stripePaymentIntentId!;

  it('failed-deliveries lists FAILED deliveries with the reason, filters by status and search, and pages with --after', async () => {
    const ada = await failedDelivery('Ada Lovelace');
    const bob = await failedDelivery('Bob Builder');
    const waiting = await awaitingCustomer();

    const all = await admin(h.url, h.tokens.viewer, 'failed-deliveries', '--json');
    expect(all).toMatchObject({ code: 0, stderr: [] });
    const { totalCount, payments, nextCursor } = all.json();
    expect({ totalCount, nextCursor }).toEqual({ totalCount: 2, nextCursor: null });
    expect(payments.map((p: any) => p.id).sort()).toEqual([ada, bob].sort());
    for (const p of payments) {
      expect(p).toMatchObject({ deliveryStatus: 'FAILED', deliveryAttempts: 1, deliveryFailureReason: expect.stringContaining('blocked'), customerId: expect.any(String) });
      expect(Date.parse(p.paidAt)).not.toBeNaN();
    }

    const found = await admin(h.url, h.tokens.viewer, 'failed-deliveries', '--search', 'lovelace');
    expect(found.code).toBe(0);
    expect(found.stdout).toHaveLength(2);
    expect(found.stdout[0]).toMatch(new RegExp(`^${ada}  FAILED +  attempts 1  customer \\S+  paid \\S+  .*blocked`));
    expect(found.stdout[1]).toBe('1 of 1 payment(s) with delivery FAILED');

    const awaiting = await admin(h.url, h.tokens.viewer, 'failed-deliveries', '--status', 'awaiting_customer', '--json');
    expect(awaiting.json().payments.map((p: any) => [p.id, p.deliveryStatus])).toEqual([[waiting, 'AWAITING_CUSTOMER']]);

    const first = await admin(h.url, h.tokens.viewer, 'failed-deliveries', '--first', '1');
    expect(first.stdout).toHaveLength(3);
    expect(first.stdout[1]).toBe('1 of 2 payment(s) with delivery FAILED');
    const cursor = first.stdout[2].match(/^next page: --after (\S+)$/)?.[1];
    expect(cursor).toBeTruthy();
    const second = (await admin(h.url, h.tokens.viewer, 'failed-deliveries', '--first', '1', '--after', cursor!, '--json')).json();
    expect(second).toMatchObject({ totalCount: 2, nextCursor: null });
    expect([first.stdout[0].split('  ')[0], second.payments[0].id].sort()).toEqual([ada, bob].sort());

    // The listing only reads: nothing was retried.
    expect((await deliveryOf(ada)).deliveryAttempts).toBe(1);
    const bad = await admin(h.url, h.tokens.viewer, 'failed-deliveries', '--status', 'DELIVERED');
    expect(bad.code).toBe(64);
    expect(bad.stderr[0]).toBe('error: --status must be one of FAILED, AWAITING_CUSTOMER, PENDING, IN_PROGRESS (got "DELIVERED")');
  });

  it('payments and alerts page with --after and say when there is no next page', async () => {
    const one = await seedCatalog(h);
    const two = await seedCatalog(h);
    const paymentIds = [(await createPayment(h, one.customerId, one.planId)).id, (await createPayment(h, two.customerId, two.planId)).id];
    const alertIds = [(await raise(h, 'page-1')).alert.id, (await raise(h, 'page-2')).alert.id];

    for (const [command, ids] of [['payments', paymentIds], ['alerts', alertIds]] as const) {
      const first = (await admin(h.url, h.tokens.viewer, command, '--first', '1', '--json')).json();
      expect(first).toMatchObject({ totalCount: 2, nextCursor: expect.any(String) });
      expect(first[command]).toHaveLength(1);
      const second = (await admin(h.url, h.tokens.viewer, command, '--first', '1', '--after', first.nextCursor, '--json')).json();
      expect(second).toMatchObject({ totalCount: 2, nextCursor: null });
      expect([first[command][0].id, second[command][0].id].sort()).toEqual([...ids].sort());
    }
    const text = await admin(h.url, h.tokens.viewer, 'payments', '--first', '1');
    expect(text.stdout.at(-1)).toMatch(/^next page: --after \S+$/);
    const badCursor = await admin(h.url, h.tokens.viewer, 'payments', '--after', 'not-a-cursor');
    expect(badCursor).toMatchObject({ code: 1, stderr: ['error: BAD_USER_INPUT: Invalid cursor'] });
  });

  it('recover <id> delivers a failed payment now; a second time is a CONFLICT, an unknown id NOT_FOUND', async () => {
    const id = await failedDelivery('Cleo Customer');

    const result = await admin(h.url, h.tokens.operator, 'recover', id);

    expect(result).toMatchObject({ code: 0, stderr: [] });
    expect(result.stdout).toEqual([`${id}  DELIVERED  attempts 1`]);
    expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryAttempts: 1, deliveryRecovered: true, deliveryFailureReason: null });
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(2); // the refused one and the recovery

    const again = await admin(h.url, h.tokens.operator, 'recover', id, '--json');
    expect(again.code).toBe(1);
    expect(again.stdout).toEqual([]);
    expect(again.stderr).toEqual([expect.stringMatching(/^error: CONFLICT: .*already delivered/)]);
    const unknown = await admin(h.url, h.tokens.operator, 'recover', UNKNOWN_ID);
    expect(unknown).toMatchObject({ code: 1, stdout: [], stderr: [`error: NOT_FOUND: Payment ${UNKNOWN_ID} was not found`] });
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(2);
  });

  it('recover exits 1 when the delivery fails again, and a VIEWER is FORBIDDEN to recover', async () => {
    const id = await failedDelivery('Dan Blocked');

    const viewer = await admin(h.url, h.tokens.viewer, 'recover', id);
    expect(viewer).toMatchObject({ code: 1, stdout: [], stderr: [expect.stringMatching(/^error: FORBIDDEN: /)] });
    expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'FAILED', deliveryAttempts: 1 });

    h.telegram.failNext('sendMessage', BLOCKED);
    const result = await admin(h.url, h.tokens.operator, 'recover', id, '--json');

    expect(result.code).toBe(1);
    expect(result.json()).toEqual({ paymentId: id, status: 'FAILED', attempts: 1, reason: expect.stringContaining('blocked') });
    expect(result.stderr).toEqual(['error: 1 of 1 payment(s) not recovered']);
    expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'FAILED', deliveryRecovered: false });
  });

  it('recover with several ids prints every result and exits 1 when some were refused', async () => {
    const failed = [await failedDelivery('Eve One'), await failedDelivery('Fay Two')];
    const delivered = failed[0];
    const ids = [...failed, UNKNOWN_ID];

    const result = await admin(h.url, h.tokens.operator, 'recover', ...ids);

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([
      `${failed[0]}  DELIVERED  attempts 1`,
      `${failed[1]}  DELIVERED  attempts 1`,
      `${UNKNOWN_ID}  refused  NOT_FOUND: Payment ${UNKNOWN_ID} was not found`,
      '2 of 3 payment(s) delivered',
    ]);
    expect(result.stderr).toEqual(['error: 1 of 3 payment(s) not recovered']);
    for (const id of failed) expect(await deliveryOf(id)).toMatchObject({ deliveryStatus: 'DELIVERED', deliveryRecovered: true });

    const json = await admin(h.url, h.tokens.operator, 'recover', delivered, UNKNOWN_ID, '--json');
    expect(json.code).toBe(1);
    expect(json.json()).toEqual([
      { paymentId: delivered, ok: false, status: null, attempts: null, errorCode: 'CONFLICT', message: expect.stringContaining('already delivered') },
      { paymentId: UNKNOWN_ID, ok: false, status: null, attempts: null, errorCode: 'NOT_FOUND', message: expect.any(String) },
    ]);

    const tooMany = Array.from({ length: 101 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const refused = await admin(h.url, h.tokens.operator, 'recover', ...tooMany);
    expect(refused.code).toBe(64);
    expect(refused.stderr[0]).toBe('error: recover takes 1 to 100 payment ids (got 101)');
  });

  it('capture <id> captures an authorized payment at Stripe and prints SUCCEEDED', async () => {
    const id = await awaitingCustomer('MANUAL');
    expect(await paymentStatus(h, id)).toBe('AUTHORIZED');

    const viewer = await admin(h.url, h.tokens.viewer, 'capture', id);
    expect(viewer).toMatchObject({ code: 1, stdout: [], stderr: [expect.stringMatching(/^error: FORBIDDEN: /)] });
    h.stripe.failNext({ method: 'POST', path: /\/capture$/ }, { status: 500 });
    const failing = await admin(h.url, h.tokens.operator, 'capture', id);
    expect(failing).toMatchObject({ code: 1, stdout: [], stderr: [expect.stringMatching(/^error: GATEWAY_ERROR: /)] });
    expect(await paymentStatus(h, id)).toBe('AUTHORIZED');

    const result = await admin(h.url, h.tokens.operator, 'capture', id);

    expect(result).toMatchObject({ code: 0, stderr: [] });
    expect(result.stdout).toEqual([expect.stringMatching(new RegExp(`^captured: ${id}  SUCCEEDED  \\$25\\.00  since \\S+$`))]);
    expect(await paymentStatus(h, id)).toBe('SUCCEEDED');
    expect(h.stripe.store.paymentIntents.get(await intentOf(id)).status).toBe('succeeded');

    const unknown = await admin(h.url, h.tokens.operator, 'capture', UNKNOWN_ID);
    expect(unknown).toMatchObject({ code: 1, stderr: [`error: NOT_FOUND: Payment ${UNKNOWN_ID} was not found`] });
    const { customerId, planId } = await seedCatalog(h);
    const unpaid = await createPayment(h, customerId, planId);
    const conflict = await admin(h.url, h.tokens.operator, 'capture', unpaid.id);
    expect(conflict).toMatchObject({ code: 1, stderr: [expect.stringMatching(/^error: CONFLICT: /)] });
    expect(await paymentStatus(h, unpaid.id)).toBe('PENDING');
  });

  it('sync <id> brings a payment Stripe says is paid (webhook never came) to SUCCEEDED', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId, { sendWebhooks: false });
    expect(await paymentStatus(h, payment.id)).toBe('PENDING');

    const viewer = await admin(h.url, h.tokens.viewer, 'sync', payment.id);
    expect(viewer).toMatchObject({ code: 1, stderr: [expect.stringMatching(/^error: FORBIDDEN: /)] });
    expect(await paymentStatus(h, payment.id)).toBe('PENDING');

    const result = await admin(h.url, h.tokens.operator, 'sync', payment.id, '--json');

    expect(result).toMatchObject({ code: 0, stderr: [] });
    expect(result.json()).toMatchObject({ id: payment.id, status: 'SUCCEEDED', amountMinor: 2500, currency: 'usd', refundedMinor: 0 });
    expect(await paymentStatus(h, payment.id)).toBe('SUCCEEDED');
    const trail = must(await h.gql(`query($id: ID!) { auditTrail(subject: $id, subjectType: "payment") { edges { node { action actor } } } }`, { id: payment.id })).auditTrail.edges;
    expect(trail.map((e: any) => e.node)).toContainEqual({ action: 'payment.sync', actor: 'operator:olga-operator' });

    const text = await admin(h.url, h.tokens.operator, 'sync', payment.id);
    expect(text.stdout).toEqual([expect.stringMatching(new RegExp(`^synced: ${payment.id}  SUCCEEDED  \\$25\\.00  since `))]);
    expect((await admin(h.url, h.tokens.operator, 'sync', 'not-an-id')).stderr).toEqual(['error: NOT_FOUND: Payment not-an-id was not found']);
  });

  /** Open payments, one customer each; `stale` of them are made older than the 30-minute expiry. */
  async function openPayments(count: number, stale: number) {
    const payments = [];
    for (let i = 0; i < count; i++) {
      const { customerId, planId } = await seedCatalog(h);
      payments.push(await createPayment(h, customerId, planId));
    }
    const old = payments.slice(0, stale).map((p) => p.id);
    if (old.length) await db().execute(`update payments set created_at = now() - interval '31 minutes' where id in (?)`, [old]);
    return payments;
  }

  it('pending lists open payments (--stale the expired ones), cleanup expires the stale ones and prints the counts', async () => {
    const [stale, fresh] = await openPayments(2, 1);

    const listed = await admin(h.url, h.tokens.viewer, 'pending', '--stale', '--json');
    expect(listed.code).toBe(0);
    expect(listed.json()).toMatchObject({ totalCount: 1, summary: { total: 2, stale: 1, active: 1 }, pendingPayments: [{ stale: true, payment: { id: stale.id, status: 'PENDING' } }], nextCursor: null });
    const text = await admin(h.url, h.tokens.viewer, 'pending');
    expect(text.stdout).toHaveLength(3);
    expect(text.stdout.find((l) => l.startsWith(fresh.id))).toMatch(new RegExp(String.raw`PENDING +\$25\.00  age 0 min  expires in (29|30) min  customer `));
    expect(text.stdout.find((l) => l.startsWith(stale.id))).toContain('  age 31 min  stale  customer ');
    expect(text.stdout[2]).toBe('2 of 2 open payment(s) (1 stale, 1 active in all)');

    const viewer = await admin(h.url, h.tokens.viewer, 'cleanup');
    expect(viewer).toMatchObject({ code: 1, stderr: [expect.stringMatching(/^error: FORBIDDEN: /)] });
    expect(await paymentStatus(h, stale.id)).toBe('PENDING');

    const result = await admin(h.url, h.tokens.operator, 'cleanup');

    expect(result).toMatchObject({ code: 0, stderr: [] });
    expect(result.stdout).toEqual([expect.stringMatching(/^cleanup run \S+: expired 1, found paid 0, refunds retried 0, errors 0$/)]);
    expect(await paymentStatus(h, stale.id)).toBe('EXPIRED');
    expect(await paymentStatus(h, fresh.id)).toBe('PENDING');
    const stats = must(await h.gql(`{ cleanupStats { runs expiredLastRun } }`)).cleanupStats;
    expect(stats).toEqual({ runs: 1, expiredLastRun: 1 });
    expect((await admin(h.url, h.tokens.operator, 'cleanup', '--json')).json()).toEqual({ runId: expect.any(String), expired: 0, foundPaid: 0, refundsRetried: 0, errors: 0 });
  });

  it('cleanup exits 1 when Stripe refuses to expire a stale payment, and leaves it open', async () => {
    const [stale] = await openPayments(1, 1);
    h.stripe.failNext({ method: 'POST', path: `/v1/checkout/sessions/${stale.stripeCheckoutSessionId}/expire` }, { status: 500, error: { type: 'api_error', message: 'boom' } });

    const result = await admin(h.url, h.tokens.operator, 'cleanup', '--json');

    expect(result.code).toBe(1);
    expect(result.json()).toMatchObject({ expired: 0, errors: 1 });
    expect(result.stderr).toEqual([expect.stringMatching(/^error: 1 stale payment\(s\) could not be expired/)]);
    expect(await paymentStatus(h, stale.id)).toBe('PENDING');
  });

  /** A payment we have as SUCCEEDED whose PaymentIntent Stripe (silently) cancelled. */
  async function driftedPayment(): Promise<string> {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);
    await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
    await eventually(async () => (await paymentStatus(h, payment.id)) === 'SUCCEEDED');
    const intent = h.stripe.setPaymentIntentStatus(await intentOf(payment.id), 'canceled');
    // The run lists intents created in whole seconds before it started: not this very second's.
    intent.created -= 60;
    h.stripe.store.paymentIntents.touch();
    return payment.id;
  }

  const RUN = `query($id: ID!) { reconciliationRun(id: $id) { status trigger outOfSync alertsRaised windowStart windowEnd } }`;

  it('reconcile --wait runs a reconciliation and prints its counts; out-of-sync then lists what it found', async () => {
    const id = await driftedPayment();

    const result = await admin(h.url, h.tokens.operator, 'reconcile', '--window-days', '7', '--wait');

    expect(result).toMatchObject({ code: 0, stderr: [] });
    const runId = result.stdout[0].match(new RegExp(String.raw`^run (\S+)  SUCCEEDED  window \S+ to \S+$`))?.[1];
    expect(runId).toBeTruthy();
    expect(result.stdout[1]).toMatch(/^checked 1 payment\(s\) in \d+ ms: out of sync 1, .*; alerts raised 1, resolved 0$/);
    const stored = must(await h.gql(RUN, { id: runId })).reconciliationRun;
    expect(stored).toMatchObject({ status: 'SUCCEEDED', trigger: 'operator:olga-operator', outOfSync: 1, alertsRaised: 1 });
    expect(Date.parse(stored.windowEnd) - Date.parse(stored.windowStart)).toBe(7 * 86_400_000);

    const issues = await admin(h.url, h.tokens.viewer, 'out-of-sync', '--json');
    expect(issues.json()).toMatchObject({ totalCount: 1, nextCursor: null, issues: [{ gatewayStatus: 'canceled', payment: { id, status: 'SUCCEEDED' }, finding: { runId } }] });
    const text = await admin(h.url, h.tokens.viewer, 'out-of-sync');
    expect(text.stdout).toEqual([expect.stringMatching(new RegExp(`^${id}  ours SUCCEEDED  Stripe canceled  \\$25\\.00  ours is SUCCEEDED`)), '1 of 1 out-of-sync payment(s)']);
  });

  it('reconcile without --wait answers the RUNNING run, which then finishes; refusals exit 1 or 64', async () => {
    const viewer = await admin(h.url, h.tokens.viewer, 'reconcile', '--wait');
    expect(viewer).toMatchObject({ code: 1, stderr: [expect.stringMatching(/^error: FORBIDDEN: /)] });
    for (const days of ['0', '91', 'week']) {
      const bad = await admin(h.url, h.tokens.operator, 'reconcile', '--window-days', days);
      expect(bad.code).toBe(64);
      expect(bad.stderr[0]).toBe(`error: --window-days must be an integer from 1 to 90 (got "${days}")`);
    }
    expect(must(await h.gql(`{ reconciliationRuns { totalCount } }`)).reconciliationRuns.totalCount).toBe(0);

    const started = await admin(h.url, h.tokens.operator, 'reconcile', '--json');

    expect(started.code).toBe(0);
    const run = started.json();
    expect(run).toMatchObject({ status: 'RUNNING', trigger: 'operator:olga-operator', finishedAt: null });
    await eventually(async () => must(await h.gql(RUN, { id: run.id })).reconciliationRun.status === 'SUCCEEDED');
    await h.app.services.reconciliation.stop();
  });

  it('reconcile exits 1 on a PARTIAL run and names the check that failed', async () => {
    h.stripe.failNext({ method: 'GET', path: '/v1/payouts' }, { status: 400, error: { type: 'invalid_request_error', message: 'payouts are off' } });

    const result = await admin(h.url, h.tokens.operator, 'reconcile', '--wait');

    expect(result.code).toBe(1);
    expect(result.stdout[0]).toMatch(new RegExp(String.raw`^run \S+  PARTIAL  `));
    expect(result.stderr).toEqual([expect.stringMatching(/^error: check payouts failed: .*payouts are off/)]);
    const runs = must(await h.gql(`{ reconciliationRuns { edges { node { status } } } }`)).reconciliationRuns.edges;
    expect(runs).toEqual([{ node: { status: 'PARTIAL' } }]);
  });

  it('authenticates with RECOUP_API_KEY (x-api-key) as well as RECOUP_TOKEN', async () => {
    expect(endpointFromEnv({})).toBeNull();
    expect(endpointFromEnv({ RECOUP_TOKEN: 'jwt' })).toEqual({ url: 'http://127.0.0.1:4000', token: 'jwt' });
    expect(endpointFromEnv({ RECOUP_URL: h.url, RECOUP_TOKEN: 'jwt', RECOUP_API_KEY: API_KEY.key })).toEqual({ url: h.url, apiKey: API_KEY.key });
    const id = await failedDelivery('Gil Keyholder');

    const viaKey = endpointFromEnv({ RECOUP_URL: h.url, RECOUP_API_KEY: API_KEY.key })!;
    const listed = await run(viaKey, ['failed-deliveries', '--json']);
    expect(listed.code).toBe(0);
    expect(listed.json().payments.map((p: any) => p.id)).toEqual([id]);
    // The key's role is VIEWER: reading works, recovering does not.
    const recover = await run(viaKey, ['recover', id]);
    expect(recover).toMatchObject({ code: 1, stderr: [expect.stringMatching(/^error: FORBIDDEN: /)] });
    expect((await deliveryOf(id)).deliveryStatus).toBe('FAILED');
    const wrong = await run({ url: h.url, apiKey: 'not-a-key-0123456789' }, ['failed-deliveries']);
    expect(wrong).toMatchObject({ code: 1, stdout: [], stderr: [expect.stringMatching(/^error: UNAUTHENTICATED: /)] });
    // Without credentials the read is refused the same way, so the success above came from the key.
    expect((await run({ url: h.url }, ['failed-deliveries'])).stderr).toEqual([expect.stringMatching(/^error: UNAUTHENTICATED: /)]);
  });

  it('exits 64 on flags or arguments a command does not take, before asking the server', async () => {
    const cases: Array<[string[], string | RegExp]> = [
      [['capture'], 'error: capture takes exactly one payment id'],
      [['sync', UNKNOWN_ID, UNKNOWN_ID], 'error: sync takes exactly one payment id'],
      [['recover'], 'error: recover takes 1 to 100 payment ids (got 0)'],
      [['cleanup', 'now'], 'error: cleanup takes no arguments (got "now")'],
      [['cleanup', '--wait'], 'error: cleanup does not take --wait'],
      [['failed-deliveries', '--open'], 'error: failed-deliveries does not take --open'],
      [['failed-deliveries', '--first', '101'], 'error: --first must be an integer from 1 to 100 (got "101")'],
      [['payments', '--status', 'paid'], 'error: --status must be one of AUTHORIZED, CANCELLED, DISPUTED, EXPIRED, FAILED, PENDING, REFUNDED, SUCCEEDED (got "paid")'],
      [['reconcile', '--window'], /^error: Unknown option '--window'/],
    ];
    const requests = h.stripe.requests.length;
    for (const [argv, message] of cases) {
      const result = await admin(h.url, h.tokens.operator, ...argv);
      expect({ argv, code: result.code, first: result.stderr[0] }).toEqual({ argv, code: 64, first: typeof message === 'string' ? message : expect.stringMatching(message) });
      expect(result.stdout).toEqual([]);
      expect(result.stderr[1]).toBe('usage: admin <command> [options] [--json]');
    }
    expect(h.stripe.requests.length).toBe(requests);
    expect(must(await h.gql(`{ reconciliationRuns { totalCount } cleanupStats { runs } }`))).toEqual({ reconciliationRuns: { totalCount: 0 }, cleanupStats: { runs: 0 } });

    const help = await admin(h.url, h.tokens.viewer, '--help');
    expect(help.code).toBe(0);
    for (const command of ['payments', 'alerts', 'resolve-alert', 'failed-deliveries', 'pending', 'out-of-sync', 'recover', 'capture', 'sync', 'cleanup', 'reconcile']) {
      expect(help.stdout.some((line) => line.startsWith(`  ${command}`))).toBe(true);
    }
  });
});
