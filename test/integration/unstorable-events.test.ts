import { Writable } from 'node:stream';
import type { FakeEvent } from '../../src/sandbox/stripe/fake-stripe.server';
import { createLogger } from '../../src/platform/observability/logger';
import { createPayment, declinedPaymentEvent, must, seedCatalog } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

/**
 * Signed webhooks whose JSON holds what PostgreSQL's jsonb cannot store (`\u0000`, a lone
 * surrogate `\ud800`) are stored all the same, and the app's log lines never carry a payload.
 */

const TG_SECRET = 'tg-unstorable-secret';
const EMAIL = 'jane.leaky@example.com';
const NAME_WITH_NUL = 'Jane\u0000 Leaky';

let h: Harness;
/** Every line the app logged since the last reset, as written. */
const lines: string[] = [];
const logs = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

/** Signs and posts exactly this text, as Stripe would. */
async function postStripe(body: string) {
  const headers = { 'content-type': 'application/json', 'stripe-signature': h.stripe.signPayload(body) };
  const response = await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers, body });
  const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
  // Answered once stored; applied right after, from the inbox.
  await h.app.services.intake.whenIdle();
  return answer;
}

async function postTelegram(body: string) {
  const headers = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TG_SECRET };
  const response = await fetch(`${h.url}/webhooks/telegram`, { method: 'POST', headers, body });
  const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
  // Answered once stored; applied right after, from the inbox.
  await h.app.services.intake.whenIdle();
  return answer;
}

const sql = <T = Record<string, any>>(query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);
const storedEvent = async (eventId: string) =>
  (await sql(`select event_id, type, payload, sanitized_paths, processed_at, outcome, attempts, last_error, next_attempt_at from gateway_events where event_id = ?`, [eventId]))[0];

async function payment(id: string): Promise<string> {
  return must(await h.gql(`query($id: ID!) { payment(id: $id) { status } }`, { id })).payment.status;
}

async function eventAlerts() {
  const data = must(await h.gql(`{ alerts(first: 50) { edges { node { type severity occurrences subjectType title detail } } } }`));
  return (data.alerts.edges.map((e: any) => e.node) as Array<Record<string, any>>).filter((a) => a.type === 'GATEWAY_EVENT_FAILED');
}

/** A copy of the event with `change` applied to it (the fake keeps its own). */
function altered(event: FakeEvent, change: (e: any) => void): any {
  const copy = structuredClone(event) as any;
  change(copy);
  return copy;
}

/** A PENDING payment paid on the fake's checkout page by EMAIL, who typed `name` (here, one with a NUL). */
async function paidCheckout(name = NAME_WITH_NUL) {
  const { customerId, planId } = await seedCatalog(h);
  const created = await createPayment(h, customerId, planId);
  const paid = await h.stripe.completeCheckout(created.stripeCheckoutSessionId, { email: EMAIL, sendWebhooks: false });
  const byType = (type: string) => paid.events.find((e) => e.type === type)!;
  const completed = altered(byType('checkout.session.completed'), (e) => (e.data.object.customer_details.name = name));
  return { paymentId: created.id as string, completed, succeeded: byType('payment_intent.succeeded') };
}

beforeAll(async () => {
  h = await startHarness({ env: { TELEGRAM_WEBHOOK_SECRET: TG_SECRET }, logger: createLogger('debug', {}, logs) });
});
afterAll(async () => h?.close());
beforeEach(async () => {
  await h.app.services.telegramOutbox.whenIdle();
  await h.reset();
  lines.length = 0;
});

describe('a Stripe event holding text jsonb cannot store', () => {
  it('with a NUL in customer_details.name: stored with U+FFFD there, applied, the payment SUCCEEDED', async () => {
    const { paymentId, completed } = await paidCheckout();
    const body = JSON.stringify(completed);
    expect(body).toContain('Jane\\u0000 Leaky');

    expect(await postStripe(body)).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect(await payment(paymentId)).toBe('SUCCEEDED');
    const stored = await storedEvent(completed.id);
    expect(stored).toMatchObject({ type: 'checkout.session.completed', outcome: 'PENDING -> SUCCEEDED', attempts: 1, last_error: null });
    expect(stored.processed_at).not.toBeNull();
    expect(stored.sanitized_paths).toEqual(['$.data.object.customer_details.name']);
    expect(stored.payload.data.object.customer_details.name).toBe('Jane\uFFFD Leaky');
    expect(stored.payload.data.object.customer_details.email).toBe(EMAIL);
    expect(await eventAlerts()).toEqual([]);
    // A redelivery is the usual duplicate.
    expect(await postStripe(body)).toEqual({ status: 200, body: { received: true, status: 'duplicate' } });
  });

  it('with a lone surrogate in metadata.paymentId: stored, answered 200, not applied, failed for good with an alert', async () => {
    const { paymentId, succeeded } = await paidCheckout('Jane Plain');
    const event = altered(succeeded, (e) => (e.data.object.metadata.paymentId = `${paymentId}\ud800`));
    const body = JSON.stringify(event);
    expect(body).toContain('\\ud800');

    expect(await postStripe(body)).toEqual({ status: 200, body: { received: true, status: 'unapplied' } });
    expect(await payment(paymentId)).toBe('PENDING');
    const stored = await storedEvent(event.id);
    expect(stored).toMatchObject({ processed_at: null, outcome: null, attempts: 1, next_attempt_at: null, sanitized_paths: ['$.data.object.metadata.paymentId'] });
    expect(stored.payload.data.object.metadata.paymentId).toBe(`${paymentId}\uFFFD`);
    expect(stored.last_error).toMatch(/^not applied: \$\.data\.object\.metadata\.paymentId could not be stored as sent/);

    const [alert] = await eventAlerts();
    expect(alert).toMatchObject({ type: 'GATEWAY_EVENT_FAILED', severity: 'HIGH', occurrences: 1, subjectType: 'gateway_event' });
    expect(alert.detail).toContain('$.data.object.metadata.paymentId');

    // Deterministic: nothing for the retry job, and Stripe's redelivery changes nothing.
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 0, succeeded: 0, failed: 0 });
    expect(await postStripe(body)).toEqual({ status: 200, body: { received: true, status: 'unapplied' } });
    expect(await payment(paymentId)).toBe('PENDING');
    expect(await eventAlerts()).toMatchObject([{ occurrences: 1 }]);
    expect(await storedEvent(event.id)).toMatchObject({ attempts: 1, processed_at: null });
  });

  it('with a lone surrogate in the object id: stored, answered 200, not applied, alert raised', async () => {
    const { paymentId, succeeded } = await paidCheckout('Jane Plain');
    const event = altered(succeeded, (e) => (e.data.object.id = `${e.data.object.id}\ud800`));

    expect(await postStripe(JSON.stringify(event))).toEqual({ status: 200, body: { received: true, status: 'unapplied' } });
    expect(await payment(paymentId)).toBe('PENDING');
    expect(await storedEvent(event.id)).toMatchObject({ processed_at: null, attempts: 1, next_attempt_at: null, sanitized_paths: ['$.data.object.id'] });
    expect(await eventAlerts()).toMatchObject([{ type: 'GATEWAY_EVENT_FAILED', occurrences: 1 }]);
  });

  it('with a NUL in a metadata key: the key itself is reported and the event is not applied', async () => {
    const { paymentId, succeeded } = await paidCheckout('Jane Plain');
    const event = altered(succeeded, (e) => (e.data.object.metadata = { 'payment\u0000Id': paymentId }));

    expect(await postStripe(JSON.stringify(event))).toEqual({ status: 200, body: { received: true, status: 'unapplied' } });
    expect(await payment(paymentId)).toBe('PENDING');
    expect((await storedEvent(event.id)).sanitized_paths).toEqual(['$.data.object.metadata["payment\uFFFDId"] (key)']);
  });

  it('whose applier then fails as usual: stored and acknowledged, kept for the retry job, no alert yet', async () => {
    const { paymentIntent, event: failed } = await declinedPaymentEvent(h);
    const event = altered(failed, (e) => (e.data.object.description = 'Monthly\u0000 pass'));
    h.stripe.failNext({ method: 'GET', path: `/v1/payment_intents/${paymentIntent.id}` }, { status: 500 });

    expect(await postStripe(JSON.stringify(event))).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    const stored = await storedEvent(event.id);
    expect(stored).toMatchObject({ processed_at: null, attempts: 1, sanitized_paths: ['$.data.object.description'] });
    expect(stored.next_attempt_at).not.toBeNull();
    expect(stored.last_error).toMatch(/Stripe/);
    expect(await eventAlerts()).toEqual([]);
  });
});

describe('a Telegram update holding text jsonb cannot store', () => {
  it('with a NUL in from.first_name: stored with U+FFFD there and applied', async () => {
    const user = { id: 4242, is_bot: false, first_name: 'Sa\u0000m' };
    const update = { update_id: 777001, message: { message_id: 1, from: user, chat: { id: 4242, type: 'private' }, date: 1_700_000_000, text: '/start forged-token' } };
    const body = JSON.stringify(update);
    expect(body).toContain('Sa\\u0000m');

    expect(await postTelegram(body)).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    const stored = await storedEvent('777001');
    expect(stored).toMatchObject({ type: 'message', outcome: 'rejected: unknown token', sanitized_paths: ['$.message.from.first_name'] });
    expect(stored.processed_at).not.toBeNull();
    expect(stored.payload.message.from.first_name).toBe('Sa\uFFFDm');
  });
});

describe('what the logs and the stored error say when a webhook cannot be applied', () => {
  /** Makes the next insert into gateway_events fail inside PostgreSQL (a sequence is not rolled back). */
  async function failNextEventInsert(): Promise<void> {
    await sql(`create sequence if not exists test_fail_once`);
    await sql(`create or replace function test_fail_event_insert() returns trigger language plpgsql as $$
      begin
        if nextval('test_fail_once') = 1 then raise exception 'simulated storage outage' using errcode = '53100'; end if;
        return new;
      end $$`);
    await sql(`create trigger test_fail_event_insert before insert on gateway_events for each row execute function test_fail_event_insert()`);
  }
  afterEach(async () => {
    await sql(`drop trigger if exists test_fail_event_insert on gateway_events`);
    await sql(`drop function if exists test_fail_event_insert()`);
    await sql(`drop sequence if exists test_fail_once`);
  });

  it('a database error on the insert logs the error class and code, and neither the email nor the name', async () => {
    const { paymentId, completed } = await paidCheckout('Jane Leaky');
    await failNextEventInsert();

    expect(await postStripe(JSON.stringify(completed))).toEqual({ status: 503, body: { error: 'Event not stored; please retry' } });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes(EMAIL) || l.includes('Jane Leaky'))).toEqual([]);
    expect(lines.filter((l) => /insert into|gateway_events \(/i.test(l))).toEqual([]);

    const records = lines.map((l) => JSON.parse(l) as Record<string, any>);
    const routeLine = records.find((r) => r.route === 'stripe-webhook' && r.level === 50)!;
    expect(routeLine).toMatchObject({ eventId: completed.id, type: 'checkout.session.completed', err: { code: '53100' } });
    expect(routeLine.err.type).toMatch(/Exception$/);
    expect(routeLine.err.message).toBe('[sql statement omitted] - simulated storage outage');
    for (const key of ['sql', 'parameters', 'query', 'where', 'detail']) expect(routeLine.err).not.toHaveProperty(key);

    // Not stored, so not acknowledged: Stripe's redelivery is stored and applied.
    expect(await storedEvent(completed.id)).toBeUndefined();
    expect(await payment(paymentId)).toBe('PENDING');
    expect(await postStripe(JSON.stringify(completed))).toEqual({ status: 200, body: { received: true, status: 'stored' } });
    expect(await payment(paymentId)).toBe('SUCCEEDED');
  });

  it('an event with a NUL next to the customer email is stored, and no line carries the email', async () => {
    const { completed } = await paidCheckout();
    const response = await postStripe(JSON.stringify(completed));
    expect(lines.filter((l) => l.includes(EMAIL) || l.includes('Leaky'))).toEqual([]);
    expect(response.status).toBe(200);
    const records = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(records.find((r) => r.eventId === completed.id && r.sanitizedPaths)).toMatchObject({ sanitizedPaths: ['$.data.object.customer_details.name'], applied: true });
  });
});
