import { startFakeStripe, type FakeEvent, type FakeStripe } from '../../src/sandbox/stripe/fake-stripe.server';
import { ManualClock } from '../../src/platform/shared/clock';
import { declinedPaymentEvent, must } from '../support/fixtures';
import { eventually, startHarness, WEBHOOK_SECRET, type Harness } from '../support/harness';

const SECOND = 1_000;

/** App and fake Stripe on one manual clock, so backoff times and Stripe's timestamps agree. */
async function boot(startJobs: boolean) {
  const clock = new ManualClock();
  const stripe = await startFakeStripe({ webhookSecret: WEBHOOK_SECRET, clock });
  const h = await startHarness({ clock, stripe, startJobs, env: { GATEWAY_EVENT_MAX_ATTEMPTS: '2' } });
  return { h, clock, stripe };
}

async function deliver(h: Harness, event: FakeEvent): Promise<number> {
  const body = JSON.stringify(event);
  const headers = { 'content-type': 'application/json', 'stripe-signature': h.stripe.signPayload(body) };
  const status = (await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers, body })).status;
  // Answered once stored; applied right after, from the inbox.
  await h.app.services.intake.whenIdle();
  return status;
}

const sql = <T = Record<string, any>>(h: Harness, query: string, params: unknown[] = []): Promise<T[]> => h.app.services.db.fork().execute(query, params);

async function storedEvent(h: Harness, eventId: string) {
  const [row] = await sql(h, `select processed_at, outcome, attempts, last_error, next_attempt_at from gateway_events where event_id = ?`, [eventId]);
  return row;
}

async function payment(h: Harness, id: string) {
  return must(await h.gql(`query($id: ID!) { payment(id: $id) { status failureCode } }`, { id })).payment as { status: string; failureCode: string | null };
}

/** Alerts from applying gateway events; other features (e.g. delivery to an unreachable Telegram) raise their own. */
async function alerts(h: Harness) {
  const data = must(await h.gql(`{ alerts(first: 50) { edges { node { type severity occurrences subjectType } } } }`));
  const nodes = data.alerts.edges.map((e: any) => e.node) as Array<{ type: string; severity: string; occurrences: number; subjectType: string }>;
  return nodes.filter((a) => ['PAYMENT_FAILED', 'GATEWAY_EVENT_FAILED'].includes(a.type));
}

/**
 * A PENDING payment whose card was declined, and the payment_intent.payment_failed event, delivered
 * while Stripe answers 500 to the handler's re-read: the event is stored (200), applying it fails, and it waits for a retry.
 */
async function failedDelivery(h: Harness) {
  const { paymentId: id, paymentIntent, event } = await declinedPaymentEvent(h);
  breakStripe(h, paymentIntent.id);
  expect(await deliver(h, event)).toBe(200);
  return { paymentId: id, intentId: paymentIntent.id, eventId: event.id, event };
}

const breakStripe = (h: Harness, intentId: string) => h.stripe.failNext({ method: 'GET', path: `/v1/payment_intents/${intentId}` }, { status: 500 });

describe('gateway event retry, driven by hand', () => {
  let h: Harness;
  let clock: ManualClock;
  let stripe: FakeStripe;
  beforeAll(async () => ({ h, clock, stripe } = await boot(false)));
  afterAll(async () => {
    await h?.close();
    await stripe?.close();
  });
  beforeEach(async () => h.reset());

  it('waits out the backoff, then re-applies the event exactly once', async () => {
    const failed = await failedDelivery(h);
    const stored = await storedEvent(h, failed.eventId);
    expect(stored).toMatchObject({ processed_at: null, attempts: 1 });
    const wait = new Date(stored.next_attempt_at).getTime() - clock.now().getTime();
    expect(wait).toBeGreaterThanOrEqual(4 * SECOND);
    expect(wait).toBeLessThanOrEqual(6 * SECOND);

    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 0, succeeded: 0, failed: 0 });
    expect((await payment(h, failed.paymentId)).status).toBe('PENDING');

    clock.advance(6 * SECOND);
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 1, succeeded: 1, failed: 0 });
    expect(await payment(h, failed.paymentId)).toEqual({ status: 'FAILED', failureCode: 'expired_card' });
    expect(await storedEvent(h, failed.eventId)).toMatchObject({ attempts: 2, last_error: null, next_attempt_at: null, outcome: 'PENDING -> FAILED' });

    clock.advance(60 * SECOND);
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 0, succeeded: 0, failed: 0 });
    expect(await alerts(h)).toMatchObject([{ type: 'PAYMENT_FAILED', occurrences: 1 }]);
  });

  it('a redelivery from Stripe after the retry applied it is a duplicate', async () => {
    const failed = await failedDelivery(h);
    clock.advance(6 * SECOND);
    await h.app.services.intake.retryDue(100);

    expect(await deliver(h, failed.event)).toBe(200);
    expect(await alerts(h)).toMatchObject([{ type: 'PAYMENT_FAILED', occurrences: 1 }]);
    expect((await storedEvent(h, failed.eventId)).attempts).toBe(2);
  });

  it('gives up after GATEWAY_EVENT_MAX_ATTEMPTS and raises one HIGH alert', async () => {
    const failed = await failedDelivery(h);
    clock.advance(6 * SECOND);
    breakStripe(h, failed.intentId);
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 1, succeeded: 0, failed: 1 });

    const stored = await storedEvent(h, failed.eventId);
    expect(stored).toMatchObject({ processed_at: null, attempts: 2, next_attempt_at: null });
    expect(stored.last_error).toMatch(/Stripe/);
    expect(await alerts(h)).toEqual([{ type: 'GATEWAY_EVENT_FAILED', severity: 'HIGH', occurrences: 1, subjectType: 'gateway_event' }]);

    clock.advance(60 * 60 * SECOND);
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 0, succeeded: 0, failed: 0 });
    expect(await alerts(h)).toMatchObject([{ type: 'GATEWAY_EVENT_FAILED', occurrences: 1 }]);
    expect((await payment(h, failed.paymentId)).status).toBe('PENDING');

    // Giving up stops our retries, not Stripe's: its redelivery still applies the event.
    expect(await deliver(h, failed.event)).toBe(200);
    expect((await payment(h, failed.paymentId)).status).toBe('FAILED');
    // …and the alert about giving up resolves itself, saying why.
    const open = must(await h.gql(`{ alerts(filter: { open: true, types: [GATEWAY_EVENT_FAILED] }) { totalCount } }`));
    expect(open.alerts.totalCount).toBe(0);
    const resolved = must(await h.gql(`{ alerts(filter: { open: false, types: [GATEWAY_EVENT_FAILED] }) { edges { node { resolvedBy resolutionNote } } } }`));
    expect(resolved.alerts.edges[0].node).toEqual({ resolvedBy: 'system:webhook-intake', resolutionNote: expect.stringContaining('applied on attempt 3') });
  });

  it('retries the due events only, oldest first, within the batch limit', async () => {
    const first = await failedDelivery(h);
    // Not yet due (its backoff is 4-6 s) when the second delivery wakes the applier.
    clock.advance(3 * SECOND);
    const second = await failedDelivery(h);
    clock.advance(10 * SECOND);

    expect(await h.app.services.intake.retryDue(1)).toEqual({ retried: 1, succeeded: 1, failed: 0 });
    expect((await payment(h, first.paymentId)).status).toBe('FAILED');
    expect((await payment(h, second.paymentId)).status).toBe('PENDING');
    expect(await h.app.services.intake.retryDue(100)).toEqual({ retried: 1, succeeded: 1, failed: 0 });
    expect((await payment(h, second.paymentId)).status).toBe('FAILED');
  });
});

describe('gateway event retry through the scheduler', () => {
  let h: Harness;
  let clock: ManualClock;
  let stripe: FakeStripe;
  beforeAll(async () => ({ h, clock, stripe } = await boot(true)));
  afterAll(async () => {
    await h?.close();
    await stripe?.close();
  });

  it('the gateway-events:retry job re-applies a failed event when it runs', async () => {
    const failed = await failedDelivery(h);
    clock.advance(6 * SECOND);

    await h.app.services.scheduler.runNow('gateway-events:retry');

    await eventually(async () => (await storedEvent(h, failed.eventId)).processed_at, 10_000);
    expect(await payment(h, failed.paymentId)).toEqual({ status: 'FAILED', failureCode: 'expired_card' });
    expect(await storedEvent(h, failed.eventId)).toMatchObject({ attempts: 2, last_error: null });
  });
});
