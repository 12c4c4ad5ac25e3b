import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/platform/shared/clock';
import { createLogger } from '../../src/platform/observability/logger';
import { startFakeVerification, type FakeVerification, type FakeVerificationEvent } from '../../src/sandbox/verification/fake-verification.server';
import { collect, eventually, signToken, startHarness, type Harness } from '../support/harness';
import { CHECKOUT_FIELDS, must, seedCatalog } from '../support/fixtures';

/**
 * KYC + e-sign before checkout, over the real HTTP server, the fake Stripe and Telegram, and the
 * sandbox verification provider over HTTP (its session API, its page, its signed webhooks).
 */
const SECRET = 'verification-test-secret-0123456789';
const DAY = 86_400_000;

let h: Harness;
let fake: FakeVerification;
const logLines: string[] = [];
const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);

beforeAll(async () => {
  const clock = new ManualClock(new Date());
  fake = await startFakeVerification({ webhookSecret: SECRET, clock });
  const sink = new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } });
  h = await startHarness({ clock, env: { VERIFICATION_API_URL: fake.url, VERIFICATION_WEBHOOK_SECRET: SECRET }, logger: createLogger('debug', {}, sink, 'json') });
  fake.setWebhookUrl(`${h.url}/webhooks/verification`, { settled: () => h.app.services.intake.whenIdle() });
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});
beforeEach(async () => {
  await h.reset();
  fake.reset();
  logLines.length = 0;
});

const VERIFICATION_FIELDS = 'id status reason termsVersion signedAt documentSha256 updatedAt verificationUrl overridden paymentBlockedAt';
const CHECKOUT = `${CHECKOUT_FIELDS} verification { status stepsLeft verificationUrl reason termsVersion }`;

/** A catalog whose plan requires KYC and the e-signature of terms v1 (set through updatePlan, as an admin would). */
async function seedVerifiedPlan(termsVersion: string | null = 'v1') {
  const seeded = await seedCatalog(h);
  const updated = must(await h.gql(`mutation($id: ID!, $i: PlanInput!) { updatePlan(id: $id, input: $i) { requiresVerification termsVersion } }`, {
    id: seeded.planId, i: { requiresVerification: true, termsVersion },
  }));
  expect(updated.updatePlan).toEqual({ requiresVerification: true, termsVersion });
  return seeded;
}

async function checkout(customerId: string, planId: string) {
  return must(await h.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { ${CHECKOUT} } }`, { i: { customerId, planId } }, { token: h.tokens.operator })).createPayment;
}

async function verificationOf(customerId: string) {
  return must(await h.gql(`query($id: ID!) { customer(id: $id) { verification { ${VERIFICATION_FIELDS} } } }`, { id: customerId })).customer.verification;
}

async function paymentCount(): Promise<number> {
  return must(await h.gql(`{ payments { totalCount } }`)).payments.totalCount;
}

const sessionIdOf = (url: string): string => url.split('/verify/')[1]!;

async function awaiting() {
  return must(await h.gql(`{ customersAwaitingVerification(first: 10) { totalCount edges { node { id customer { id } plan { id } blockedAt verification { status reason } } } } }`)).customersAwaitingVerification;
}

async function verificationEvents() {
  return sql<{ event_id: string; type: string; outcome: string | null; processed_at: Date | null; payload: any }>(
    `select event_id, type, outcome, processed_at, payload from gateway_events where gateway = 'verification' order by received_at, id`,
  );
}

/** Verifies the customer for the plan through the sandbox page, as the customer would: open the URL, submit the form. */
async function verifyThroughPage(url: string, form: Record<string, string> = {}) {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<form method="post"');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ pan: 'ABCDE1234F', name: 'Dana Buyer', accept: 'yes', outcome: 'verified', ...form }).toString(),
  });
  expect(response.status).toBe(200);
}

async function deliveredStatus(paymentId: string) {
  return eventually(async () => {
    const payment = must(await h.gql(`query($id: ID!) { payment(id: $id) { status deliveryStatus } }`, { id: paymentId })).payment;
    return payment.deliveryStatus === 'DELIVERED' ? payment : null;
  });
}

describe('a plan that requires verification', () => {
  it('answers VERIFICATION_REQUIRED with the provider URL instead of creating a payment: no payment row, no Stripe call', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const result = await checkout(customerId, planId);

    expect(result.outcome).toBe('VERIFICATION_REQUIRED');
    expect(result.payment).toBeNull();
    expect(result.verification).toEqual({ status: 'PENDING', stepsLeft: ['KYC', 'ESIGN'], verificationUrl: expect.stringMatching(new RegExp(`^${fake.url}/verify/vrf_`)), reason: null, termsVersion: 'v1' });
    expect(await paymentCount()).toBe(0);
    expect(h.stripe.requests.filter((r) => r.path.startsWith('/v1/checkout'))).toEqual([]);

    // The session was opened with our verification id as reference and idempotency key.
    const view = await verificationOf(customerId);
    expect(view).toMatchObject({ status: 'PENDING', termsVersion: 'v1', verificationUrl: result.verification.verificationUrl, overridden: false, signedAt: null });
    const opened = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/verifications');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.idempotencyKey).toBe(`verification:${view.id}`);
    expect(opened[0]!.body).toMatchObject({ reference: view.id, terms_version: 'v1', steps: ['kyc', 'esign'] });

    // Trying again reuses the open session.
    const again = await checkout(customerId, planId);
    expect(again.verification.verificationUrl).toBe(result.verification.verificationUrl);
    expect(fake.sessions.size).toBe(1);

    const blocked = await awaiting();
    expect(blocked.totalCount).toBe(1);
    expect(blocked.edges[0].node).toMatchObject({ id: view.id, customer: { id: customerId }, plan: { id: planId }, verification: { status: 'PENDING' } });
  });

  it('leaves plans without the requirement as they were: CREATED, and the provider is never asked', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const result = await checkout(customerId, planId);
    expect(result.outcome).toBe('CREATED');
    expect(result.verification).toBeNull();
    expect(fake.requests).toEqual([]);
    expect((await verificationOf(customerId)).status).toBe('NONE');
  });

  it('the sandbox provider completes, its signed webhook makes the customer VERIFIED, and the checkout then opens, is paid and delivered as usual', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const required = await checkout(customerId, planId);
    await verifyThroughPage(required.verification.verificationUrl);

    const view = await verificationOf(customerId);
    const verdict = fake.deliveries.at(-1)!;
    expect(fake.deliveries.map((d) => [d.type, d.status])).toEqual([['verification.pending', 200], ['verification.verified', 200]]);
    const session = fake.sessions.get(sessionIdOf(required.verification.verificationUrl))!;
    const document = Buffer.from(`Terms v1\nAccepted and e-signed by Dana Buyer (PAN ending 234F)\nat ${view.signedAt}\nsession ${session.id}\n`);
    expect(view).toMatchObject({ status: 'VERIFIED', reason: null, termsVersion: 'v1', documentSha256: createHash('sha256').update(document).digest('hex'), verificationUrl: null });
    expect(view.signedAt).toBeTruthy();
    expect(verdict.body).toEqual({ received: true, status: 'stored' });

    // Stored raw in the inbox (gateway verification), applied from there.
    const events = await verificationEvents();
    expect(events.map((e) => [e.type, e.outcome]).sort()).toEqual([['verification.pending', 'progress: KYC, ESIGN completed'], ['verification.verified', 'PENDING -> VERIFIED']]);
    const inbound = must(await h.gql(`{ inboundEvents(filter: { source: VERIFICATION }) { totalCount edges { node { source type outcome } } } }`)).inboundEvents;
    expect(inbound.totalCount).toBe(2);
    const trail = must(await h.gql(`query($s: ID!) { auditTrail(subject: $s, subjectType: "customer") { edges { node { action actor after } } } }`, { s: customerId })).auditTrail.edges.map((e: any) => e.node);
    expect(trail.find((e: any) => e.action === 'verification.verdict')).toMatchObject({ actor: 'system:verification-webhook', after: { status: 'VERIFIED', termsVersion: 'v1' } });

    const created = await checkout(customerId, planId);
    expect(created.outcome).toBe('CREATED');
    expect(created.payment.checkoutUrl).toMatch(/\/pay\/cs_/);
    await h.stripe.completeCheckout(created.payment.stripeCheckoutSessionId);
    expect(await deliveredStatus(created.payment.id)).toEqual({ status: 'SUCCEEDED', deliveryStatus: 'DELIVERED' });
    expect(h.telegram.callsTo('sendMessage')).toHaveLength(1);
    expect((await awaiting()).totalCount).toBe(0);
  });

  it('tells a live dashboard, over graphql-ws, when a checkout is blocked, a session opens and the verdict lands; a customer token hears only its own', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const query = `subscription($c: ID) { verificationChanged(customerId: $c) { customerId verificationId status change reason at } }`;
    const dashboard = collect(h.wsClient({ token: h.tokens.viewer }), query);
    const own = collect(h.wsClient({ token: await signToken(customerId, 'CUSTOMER') }), query);
    const stranger = collect(h.wsClient({ token: await signToken('00000000-0000-4000-8000-000000000000', 'CUSTOMER') }), query);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the subscriptions are registered

    const required = await checkout(customerId, planId);
    const started = await dashboard.waitFor(2);
    const verificationId = started[0].verificationChanged.verificationId;
    expect(started.map((e) => e.verificationChanged)).toEqual([
      { customerId, verificationId, status: 'PENDING', change: 'STARTED', reason: null, at: expect.any(String) },
      { customerId, verificationId, status: 'PENDING', change: 'CHECKOUT_BLOCKED', reason: null, at: expect.any(String) },
    ]);
    await fake.complete(sessionIdOf(required.verification.verificationUrl), { outcome: 'rejected', reason: 'name does not match the PAN' });
    const [, , verdict] = await dashboard.waitFor(3);
    expect(verdict.verificationChanged).toMatchObject({ customerId, verificationId, status: 'REJECTED', change: 'VERDICT', reason: 'name does not match the PAN' });

    must(await h.gql(`mutation($c: ID!) { overrideVerification(customerId: $c, status: VERIFIED, note: "checked by video call") { status } }`, { c: customerId }));
    const [, , , overridden] = await dashboard.waitFor(4);
    expect(overridden.verificationChanged).toMatchObject({ customerId, status: 'VERIFIED', change: 'OVERRIDDEN', reason: null });

    expect((await own.waitFor(4)).map((e) => e.verificationChanged.change)).toEqual(['STARTED', 'CHECKOUT_BLOCKED', 'VERDICT', 'OVERRIDDEN']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stranger.events).toEqual([]);
    expect([dashboard.errors, own.errors, stranger.errors]).toEqual([[], [], []]);
  });

  it('records a rejection with its reason; checkout stays blocked, and the customer may start a new session themselves', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const required = await checkout(customerId, planId);
    await fake.complete(sessionIdOf(required.verification.verificationUrl), { outcome: 'rejected', reason: 'name does not match the PAN' });

    expect(await verificationOf(customerId)).toMatchObject({ status: 'REJECTED', reason: 'name does not match the PAN', verificationUrl: null });
    const blocked = await checkout(customerId, planId);
    expect(blocked).toMatchObject({ outcome: 'VERIFICATION_REQUIRED', payment: null, verification: { status: 'REJECTED', reason: 'name does not match the PAN', verificationUrl: null, stepsLeft: ['KYC', 'ESIGN'] } });
    expect(blocked.message).toContain('rejected (name does not match the PAN)');
    expect(await paymentCount()).toBe(0);
    expect((await awaiting()).edges.map((e: any) => e.node.verification)).toEqual([{ status: 'REJECTED', reason: 'name does not match the PAN' }]);

    // The customer, with their own token, opens a new session.
    const customerToken = await signToken(customerId, 'CUSTOMER');
    const restarted = must(await h.gql(`mutation($p: ID!) { startVerification(planId: $p) { status stepsLeft verificationUrl } }`, { p: planId }, { token: customerToken })).startVerification;
    expect(restarted).toEqual({ status: 'PENDING', stepsLeft: ['KYC', 'ESIGN'], verificationUrl: expect.stringContaining('/verify/vrf_') });
    expect(restarted.verificationUrl).not.toBe(required.verification.verificationUrl);
    expect(fake.sessions.size).toBe(2);
    // Nobody else's: a customer token naming another customer is refused.
    const other = await h.gql(`mutation($p: ID!, $c: ID) { startVerification(planId: $p, customerId: $c) { status } }`, { p: planId, c: '00000000-0000-4000-8000-000000000000' }, { token: customerToken });
    expect(other.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a webhook with a bad, missing or foreign signature with 400 and stores nothing', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const required = await checkout(customerId, planId);
    const { events } = await fake.complete(sessionIdOf(required.verification.verificationUrl), { send: false });
    const verdict = events[1]!;

    const forged = await fake.deliver(verdict, { signature: 'f'.repeat(64) });
    const unsigned = await fake.deliver(verdict, { signature: null });
    const otherSecret = await fake.deliver(verdict, { signature: fake.sign(JSON.stringify(verdict), 'another-secret-0123456789') });
    const tampered = await fake.deliver(verdict, { rawBody: JSON.stringify({ ...verdict, data: { ...verdict.data, reference: customerId } }), signature: fake.sign(JSON.stringify(verdict)) });
    expect([forged.status, unsigned.status, otherSecret.status, tampered.status]).toEqual([400, 400, 400, 400]);
    expect(await verificationEvents()).toEqual([]);
    expect((await verificationOf(customerId)).status).toBe('PENDING');
  });

  it('is idempotent on duplicates and safe out of order: a late PENDING or an older verdict never overrides the verdict', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const required = await checkout(customerId, planId);
    const { events } = await fake.complete(sessionIdOf(required.verification.verificationUrl), { send: false });
    const [progress, verified] = events as [FakeVerificationEvent, FakeVerificationEvent];

    expect((await fake.deliver(verified)).body).toEqual({ received: true, status: 'stored' });
    expect((await fake.deliver(verified)).body).toEqual({ received: true, status: 'duplicate' });
    await fake.deliver(progress);
    // The provider resends the verdict under a new event id, and a rejection dated before it arrives late.
    await fake.deliver({ ...verified, id: `${verified.id}_resent` });
    const older = new Date(new Date(verified.created).getTime() - 60_000).toISOString();
    await fake.deliver({ id: 'vevt_late_rejection', type: 'verification.rejected', created: older, data: { ...verified.data, status: 'rejected', reason: 'stale' } });

    const outcomes = Object.fromEntries((await verificationEvents()).map((e) => [e.event_id, e.outcome]));
    expect(outcomes).toEqual({
      [verified.id]: 'PENDING -> VERIFIED',
      [progress.id]: 'skipped: progress after the verdict (VERIFIED)',
      [`${verified.id}_resent`]: 'duplicate: already VERIFIED',
      vevt_late_rejection: 'skipped: REJECTED is older than the VERIFIED verdict recorded',
    });
    expect(await verificationOf(customerId)).toMatchObject({ status: 'VERIFIED', termsVersion: 'v1', reason: null });
    expect((await checkout(customerId, planId)).outcome).toBe('CREATED');
  });

  it('still answers when the provider is down (no URL yet), and the next attempt opens the same session', async () => {
    const { customerId, planId } = await seedVerifiedPlan(null);
    fake.failNextStarts(2);
    const down = await checkout(customerId, planId);
    expect(down).toMatchObject({ outcome: 'VERIFICATION_REQUIRED', verification: { status: 'PENDING', stepsLeft: ['KYC'], verificationUrl: null } });
    const unavailable = await h.gql(`mutation($p: ID!, $c: ID) { startVerification(planId: $p, customerId: $c) { status } }`, { p: planId, c: customerId }, { token: h.tokens.operator });
    expect(unavailable.errors?.[0].extensions).toMatchObject({ code: 'UNAVAILABLE', reason: 'PROVIDER_UNAVAILABLE' });

    const started = must(await h.gql(`mutation($p: ID!, $c: ID) { startVerification(planId: $p, customerId: $c) { status stepsLeft verificationUrl } }`, { p: planId, c: customerId }, { token: h.tokens.operator })).startVerification;
    expect(started).toEqual({ status: 'PENDING', stepsLeft: ['KYC'], verificationUrl: expect.stringContaining('/verify/vrf_') });
    const keys = fake.requests.filter((r) => r.path === '/v1/verifications').map((r) => r.idempotencyKey);
    expect(new Set(keys).size).toBe(1);
    expect(keys).toHaveLength(3);

    const notRequired = await seedCatalog(h);
    const refused = await h.gql(`mutation($p: ID!, $c: ID) { startVerification(planId: $p, customerId: $c) { status } }`, { p: notRequired.planId, c: customerId }, { token: h.tokens.operator });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_REQUIRED' });
  });

  it('lets an ADMIN override the verdict, audited with the note; the provider\'s later events change nothing', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const required = await checkout(customerId, planId);
    const mutation = `mutation($c: ID!, $s: VerificationStatus!, $n: String!, $t: String) { overrideVerification(customerId: $c, status: $s, note: $n, termsVersion: $t) { ${VERIFICATION_FIELDS} } }`;

    const asOperator = await h.gql(mutation, { c: customerId, s: 'VERIFIED', n: 'checked the PAN card by video call' }, { token: h.tokens.operator });
    expect(asOperator.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const pending = await h.gql(mutation, { c: customerId, s: 'PENDING', n: 'x' });
    expect(pending.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BAD_OVERRIDE' });
    const noNote = await h.gql(mutation, { c: customerId, s: 'VERIFIED', n: '' });
    expect(noNote.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const overridden = must(await h.gql(mutation, { c: customerId, s: 'VERIFIED', n: 'checked the PAN card by video call', t: 'v1' })).overrideVerification;
    expect(overridden).toMatchObject({ status: 'VERIFIED', overridden: true, termsVersion: 'v1' });
    const trail = must(await h.gql(`query($s: ID!) { auditTrail(subject: $s, subjectType: "customer") { edges { node { action actor note before after } } } }`, { s: customerId })).auditTrail.edges.map((e: any) => e.node);
    expect(trail.find((e: any) => e.action === 'verification.override')).toMatchObject({
      actor: 'operator:alice-admin', note: 'checked the PAN card by video call', before: { status: 'PENDING', overridden: false }, after: { status: 'VERIFIED', termsVersion: 'v1', overridden: true },
    });

    await fake.complete(sessionIdOf(required.verification.verificationUrl), { outcome: 'rejected', reason: 'late' });
    expect((await verificationEvents()).map((e) => e.outcome)).toEqual([expect.stringMatching(/^skipped: overridden by operator:alice-admin/), expect.stringMatching(/^skipped: overridden by operator:alice-admin/)]);
    expect((await verificationOf(customerId)).status).toBe('VERIFIED');
    expect((await checkout(customerId, planId)).outcome).toBe('CREATED');

    // An operator's rejection is not undone by the customer starting over.
    must(await h.gql(mutation, { c: customerId, s: 'REJECTED', n: 'document reported stolen' }));
    const restart = await h.gql(`mutation($p: ID!) { startVerification(planId: $p) { status } }`, { p: planId }, { token: await signToken(customerId, 'CUSTOMER') });
    expect(restart.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'REJECTED_BY_OPERATOR' });
  });

  it('erases the verification details with the customer\'s personal data, keeping the verdict, terms, signing time and document hash; nothing personal is logged', async () => {
    const { customerId, planId } = await seedVerifiedPlan();
    const required = await checkout(customerId, planId);
    await verifyThroughPage(required.verification.verificationUrl, { pan: 'QWERT6789K' });
    const before = await verificationOf(customerId);
    const [row] = await sql(`select pan_last4, kyc_name, signed_document is not null as has_document from verifications where customer_id = ?`, [customerId]);
    expect(row).toEqual({ pan_last4: '789K', kyc_name: 'Dana Buyer', has_document: true });

    const created = await checkout(customerId, planId);
    await h.stripe.completeCheckout(created.payment.stripeCheckoutSessionId);
    await deliveredStatus(created.payment.id);
    (h.clock as ManualClock).advance(31 * DAY);
    const report = await h.app.services.accessExpiry.run();
    expect(report).toMatchObject({ erased: 1 });

    const [erased] = await sql(`select status, pan_last4, kyc_name, signed_document, name_matched, terms_version, signed_at, document_sha256 from verifications where customer_id = ?`, [customerId]);
    expect(erased).toMatchObject({ status: 'VERIFIED', pan_last4: null, kyc_name: null, signed_document: null, terms_version: 'v1', document_sha256: before.documentSha256 });
    expect(new Date(erased!.signed_at).toISOString()).toBe(before.signedAt);
    expect(await verificationOf(customerId)).toMatchObject({ status: 'VERIFIED', termsVersion: 'v1', signedAt: before.signedAt, documentSha256: before.documentSha256 });

    // The stored webhooks keep their ids, verdict and the signature's record; the PAN, name and document are gone.
    const events = await verificationEvents();
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event.payload).toMatchObject({ redacted: true, type: event.type, data: { verification_id: expect.stringMatching(/^vrf_/) } });
      const text = JSON.stringify(event.payload);
      for (const needle of ['789K', 'Dana Buyer', 'QWERT', '"kyc":', '"document":']) expect(text).not.toContain(needle);
    }
    expect(events.find((e) => e.type === 'verification.verified')!.payload.data.esign).toEqual({ terms_version: 'v1', signed_at: before.signedAt, document_sha256: before.documentSha256 });

    // A late event for the erased customer is applied without keeping its personal data, and its payload is redacted.
    const session = fake.sessions.get(sessionIdOf(required.verification.verificationUrl))!;
    const late = (await fake.complete(session.id, { send: false, pan: 'QWERT6789K' })).events[1]!;
    await fake.deliver({ ...late, id: 'vevt_after_erasure', created: new Date(h.clock.now().getTime()).toISOString() });
    const [lateRow] = await sql(`select payload from gateway_events where event_id = 'vevt_after_erasure'`);
    expect(lateRow!.payload.redacted).toBe(true);
    expect(JSON.stringify(lateRow!.payload)).not.toContain('789K');
    expect((await sql(`select pan_last4, kyc_name from verifications where customer_id = ?`, [customerId]))[0]).toEqual({ pan_last4: null, kyc_name: null });

    // Nothing of the verification's personal details reached the logs.
    const logs = logLines.join('');
    expect(logs).toContain('verification event');
    for (const needle of ['789K', 'QWERT6789K', Buffer.from('Accepted and e-signed by').toString('base64').slice(0, 16)]) expect(logs).not.toContain(needle);
  });
});

describe('with no verification provider (VERIFICATION_PROVIDER=off, the production default)', () => {
  let off: Harness;
  beforeAll(async () => {
    off = await startHarness({ env: { VERIFICATION_PROVIDER: 'off' } });
  });
  afterAll(async () => off?.close());

  it('blocks checkout with status NONE and no URL, has no webhook route, and only an ADMIN override lets the customer pay', async () => {
    const { customerId, planId } = await seedCatalog(off);
    must(await off.gql(`mutation($id: ID!) { updatePlan(id: $id, input: { requiresVerification: true }) { id } }`, { id: planId }));
    const run = async () => must(await off.gql(`mutation($i: CreatePaymentInput!) { createPayment(input: $i) { outcome verification { status stepsLeft verificationUrl } } }`, { i: { customerId, planId } }, { token: off.tokens.operator })).createPayment;

    expect(await run()).toEqual({ outcome: 'VERIFICATION_REQUIRED', verification: { status: 'NONE', stepsLeft: ['KYC'], verificationUrl: null } });
    const start = await off.gql(`mutation($p: ID!, $c: ID) { startVerification(planId: $p, customerId: $c) { status } }`, { p: planId, c: customerId }, { token: off.tokens.operator });
    expect(start.errors?.[0].extensions).toMatchObject({ code: 'UNAVAILABLE', reason: 'NO_PROVIDER' });
    const webhook = await fetch(`${off.url}/webhooks/verification`, { method: 'POST', body: '{}' });
    expect(webhook.status).toBe(404);

    must(await off.gql(`mutation($c: ID!) { overrideVerification(customerId: $c, status: VERIFIED, note: "verified in person at the office") { status } }`, { c: customerId }));
    expect((await run()).outcome).toBe('CREATED');
  });
});
