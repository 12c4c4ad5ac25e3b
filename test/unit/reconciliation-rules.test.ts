import { slackMessage } from '../../src/alerts/alert-notifier';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { GatewayError } from '../../src/integrations/stripe/gateway.errors';
import { PaymentStatus } from '../../src/payments/payment-status';
import { authorizationVerdict } from '../../src/reconciliation/checks/authorization-deadlines';
import { disagreement, gatewayMoney, holdsMoney } from '../../src/payments/money-state';
import { GatewayLister, splitRange } from '../../src/reconciliation/gateway-lister';

const HOUR = 3_600_000;
const intent = (status: string, received = 0, refunded = 0) => ({ status: status as never, amountReceivedMinor: received, amountRefundedMinor: refunded });

describe('money state: what "in sync" means', () => {
  it.each([
    ['requires_capture', 0, 0, 'HELD'],
    ['succeeded', 2500, 0, 'CAPTURED'],
    ['succeeded', 2500, 1000, 'CAPTURED'],
    ['succeeded', 2500, 2500, 'REFUNDED'],
    ['canceled', 0, 2500, 'NONE'],
    ['requires_payment_method', 0, 0, 'NONE'],
    ['processing', 0, 0, 'NONE'],
  ])('Stripe %s (received %d, refunded %d) is %s', (status, received, refunded, state) => {
    expect(gatewayMoney(intent(status, received, refunded))).toBe(state);
  });

  it('agrees when no money is at stake, whatever the statuses', () => {
    expect(disagreement({ status: PaymentStatus.FAILED, refundedMinor: 0 }, intent('requires_payment_method'))).toBeNull();
    expect(disagreement({ status: PaymentStatus.EXPIRED, refundedMinor: 0 }, intent('canceled'))).toBeNull();
    expect(disagreement({ status: PaymentStatus.DISPUTED, refundedMinor: 0 }, intent('succeeded', 2500))).toBeNull();
  });

  it('disagrees on where the money is, and on refunded amounts', () => {
    expect(disagreement({ status: PaymentStatus.PENDING, refundedMinor: 0 }, intent('succeeded', 2500))).toContain('ours is PENDING');
    expect(disagreement({ status: PaymentStatus.AUTHORIZED, refundedMinor: 0 }, intent('succeeded', 2500))).toContain('captured');
    expect(disagreement({ status: PaymentStatus.SUCCEEDED, refundedMinor: 0 }, intent('succeeded', 2500, 500))).toBe('refunded 500 at Stripe but 0 in our records');
    expect(disagreement({ status: PaymentStatus.REFUNDED, refundedMinor: 2500 }, intent('succeeded', 2500, 1000))).toContain('REFUNDED');
  });

  it('holds money only while captured and not fully refunded', () => {
    expect(holdsMoney(intent('succeeded', 2500, 2499))).toBe(true);
    expect(holdsMoney(intent('succeeded', 2500, 2500))).toBe(false);
    expect(holdsMoney(intent('requires_capture'))).toBe(false);
  });
});

describe('authorization deadlines', () => {
  const settings = { stuckMarginHours: 24, authorizationValidityDays: 7, noShowAfterHours: 72 };
  const now = new Date('2026-01-15T10:00:00Z');
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * HOUR);

  it('releases an unfulfilled authorization past the no-show deadline', () => {
    expect(authorizationVerdict({ authorizedAt: at(72), captureBefore: null, fulfilled: false, now }, settings).verdict).toBe('no_show');
    expect(authorizationVerdict({ authorizedAt: at(71), captureBefore: null, fulfilled: false, now }, settings).verdict).toBe('ok');
  });

  it('flags one within the margin of capture_before, or of 7 days when Stripe gave none', () => {
    expect(authorizationVerdict({ authorizedAt: at(10), captureBefore: new Date(now.getTime() + 23 * HOUR), fulfilled: false, now }, settings).verdict).toBe('stuck');
    expect(authorizationVerdict({ authorizedAt: at(6 * 24), captureBefore: null, fulfilled: true, now }, settings)).toMatchObject({ verdict: 'stuck', expiresAt: new Date(now.getTime() + 24 * HOUR) });
    expect(authorizationVerdict({ authorizedAt: at(5 * 24), captureBefore: null, fulfilled: true, now }, settings).verdict).toBe('ok');
  });

  it('never calls one authorization both (no-show wins over stuck)', () => {
    expect(authorizationVerdict({ authorizedAt: at(150), captureBefore: null, fulfilled: false, now }, settings).verdict).toBe('no_show');
  });
});

describe('gateway lister', () => {
  it('splits a window into whole-second ranges that neither overlap nor leave gaps', () => {
    const parts = splitRange({ start: new Date('2026-01-01T00:00:00.400Z'), end: new Date('2026-01-31T00:00:00.900Z') }, 7);
    expect(parts).toHaveLength(7);
    expect(parts[0].start.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    for (let i = 1; i < parts.length; i++) expect(parts[i].start).toEqual(parts[i - 1].end);
    expect(parts.every((p) => p.start.getMilliseconds() === 0 && p.end > p.start)).toBe(true);
  });

  it('retries a 429 with backoff, counts every call, and gives up when the budget is spent', async () => {
    const lister = new GatewayLister({ maxRequestsPerSecond: 1000, maxRetries: 2, concurrency: 1 });
    const rateLimited = () => new GatewayError('Stripe: Request rate limit exceeded.', true, 'rate_limit', null, 429, 'req_1');
    let calls = 0;
    await expect(lister.call(async () => (++calls < 3 ? Promise.reject(rateLimited()) : 'page'))).resolves.toBe('page');
    expect(lister.meter).toEqual({ calls: 3, rateLimited: 2 });
    await expect(lister.call(() => Promise.reject(rateLimited()))).rejects.toMatchObject({ statusCode: 429 });
    expect(lister.meter.calls).toBe(6);
  }, 20_000);

  it('does not retry what Stripe will refuse again', async () => {
    const lister = new GatewayLister({ maxRequestsPerSecond: 1000, maxRetries: 5, concurrency: 1 });
    await expect(lister.call(() => Promise.reject(new GatewayError('Stripe: bad param', false, 'parameter_invalid', null, 400, null)))).rejects.toMatchObject({ statusCode: 400 });
    expect(lister.meter.calls).toBe(1);
  });

  it('pages each range with starting_after until has_more is false', async () => {
    const lister = new GatewayLister({ maxRequestsPerSecond: 1000, maxRetries: 0, concurrency: 2 });
    const ids = Array.from({ length: 250 }, (_, i) => ({ id: `pi_${i}` }));
    const seen: string[] = [];
    const list = async (q: { startingAfter?: string | null; limit?: number }) => {
      const from = q.startingAfter ? ids.findIndex((x) => x.id === q.startingAfter) + 1 : 0;
      return { data: ids.slice(from, from + (q.limit ?? 10)), hasMore: from + (q.limit ?? 10) < ids.length };
    };
    await lister.each(list, { start: new Date(0), end: new Date(1000) }, 1, async (page) => void seen.push(...page.map((p) => p.id)));
    expect(seen).toEqual(ids.map((x) => x.id));
    expect(lister.meter.calls).toBe(3);
  });
});

describe('Slack-compatible alert message', () => {
  it('carries severity, title, subject and detail', () => {
    const message = slackMessage({ id: 'a1', severity: AlertSeverity.CRITICAL, type: AlertType.UNKNOWN_GATEWAY_PAYMENT, title: 'Stripe payment Recoup has no record of', detail: 'PaymentIntent pi_1 succeeded', subjectType: 'payment_intent', subjectId: 'pi_1' });
    expect(message.text).toBe(':rotating_light: [CRITICAL] Stripe payment Recoup has no record of (payment_intent pi_1)');
    expect(JSON.stringify(message.blocks)).toContain('PaymentIntent pi_1 succeeded');
  });
});
