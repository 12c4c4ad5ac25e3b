import { budgetSpent, budgetWindowStart, nextStep } from '../../src/retries/retry-policy';
import { classifyFailure, outcomeUnknown, retryDelay, RetryReason, STRATEGIES, strategyFor, type ChargeFailure } from '../../src/retries/strategies';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const middle = () => 0.5;

const decline = (declineCode: string, adviceCode: string | null = null): ChargeFailure => ({ code: 'card_declined', declineCode, adviceCode, statusCode: 402 });
const error = (code: string | null, statusCode: number | null): ChargeFailure => ({ code, declineCode: null, adviceCode: null, statusCode });

/** The schedule a strategy gives a job that keeps failing the same way, jitter in the middle. */
function schedule(reason: RetryReason): Array<number | string> {
  const strategy = STRATEGIES[reason];
  const steps: Array<number | string> = [];
  for (let used = 0; used <= strategy.maxAttempts; used++) {
    const step = nextStep({ strategy, retriesUsed: used, now: NOW, deadline: null, cardRetries: 0, cardBudget: 15, jitter: 0.1, random: middle });
    steps.push(step.kind === 'retry' ? step.at.getTime() - NOW.getTime() : step.kind);
  }
  return steps;
}

describe('retry strategies: the table', () => {
  it.each([
    ['stolen_card'], ['lost_card'], ['fraudulent'], ['pickup_card'], ['restricted_card'], ['security_violation'], ['stop_payment_order'],
  ])('never retries the hard decline %s', (code) => {
    expect(classifyFailure(decline(code))).toBe(RetryReason.HARD_DECLINE);
    expect(schedule(RetryReason.HARD_DECLINE)).toEqual(['exhausted']);
  });

  it('never retries when the issuer advises do_not_try_again, even inside a soft decline', () => {
    expect(classifyFailure(decline('generic_decline', 'do_not_try_again'))).toBe(RetryReason.HARD_DECLINE);
    expect(classifyFailure(decline('insufficient_funds', 'do_not_try_again'))).toBe(RetryReason.HARD_DECLINE);
  });

  it('looks inside card_declined: insufficient_funds retries twice, 24 h then 48 h', () => {
    expect(classifyFailure(decline('insufficient_funds'))).toBe(RetryReason.INSUFFICIENT_FUNDS);
    expect(classifyFailure(error('insufficient_funds', 402))).toBe(RetryReason.INSUFFICIENT_FUNDS);
    expect(schedule(RetryReason.INSUFFICIENT_FUNDS)).toEqual([24 * HOUR, 48 * HOUR, 'exhausted']);
  });

  it('retries network and connection errors three times, immediately', () => {
    expect(classifyFailure(error(null, null))).toBe(RetryReason.NETWORK);
    expect(classifyFailure(error('idempotency_key_in_use', 409))).toBe(RetryReason.NETWORK);
    expect(classifyFailure(error('lock_timeout', 400))).toBe(RetryReason.NETWORK);
    expect(schedule(RetryReason.NETWORK)).toEqual([0, 0, 0, 'exhausted']);
  });

  it('retries processing_error three times from 1 min, doubling', () => {
    expect(classifyFailure(error('processing_error', 402))).toBe(RetryReason.PROCESSING_ERROR);
    expect(classifyFailure(decline('processing_error'))).toBe(RetryReason.PROCESSING_ERROR);
    expect(schedule(RetryReason.PROCESSING_ERROR)).toEqual([MIN, 2 * MIN, 4 * MIN, 'exhausted']);
  });

  it('does not retry authentication_required: the customer is asked to act', () => {
    expect(classifyFailure(error('authentication_required', 402))).toBe(RetryReason.AUTHENTICATION_REQUIRED);
    expect(classifyFailure(decline('authentication_required'))).toBe(RetryReason.AUTHENTICATION_REQUIRED);
    expect(schedule(RetryReason.AUTHENTICATION_REQUIRED)).toEqual(['customer_action']);
    expect(STRATEGIES.AUTHENTICATION_REQUIRED.customerMessage).toMatch(/confirm/);
  });

  it('asks the customer for a new card when the card data is wrong or no card is saved', () => {
    for (const code of ['expired_card', 'incorrect_cvc', 'incorrect_number']) expect(classifyFailure(decline(code))).toBe(RetryReason.CARD_UPDATE_REQUIRED);
    expect(classifyFailure(decline('generic_decline', 'confirm_card_data'))).toBe(RetryReason.CARD_UPDATE_REQUIRED);
    expect(classifyFailure(error('payment_method_missing', null))).toBe(RetryReason.CARD_UPDATE_REQUIRED);
    expect(schedule(RetryReason.CARD_UPDATE_REQUIRED)).toEqual(['customer_action']);
  });

  it('retries rate_limit / 429 three times from 30 min', () => {
    expect(classifyFailure(error('rate_limit', 429))).toBe(RetryReason.RATE_LIMIT);
    expect(classifyFailure(error(null, 429))).toBe(RetryReason.RATE_LIMIT);
    expect(schedule(RetryReason.RATE_LIMIT)).toEqual([30 * MIN, 60 * MIN, 120 * MIN, 'exhausted']);
  });

  it('retries service unavailable / 5xx three times from 1 min, doubling', () => {
    for (const status of [500, 502, 503]) expect(classifyFailure(error(null, status))).toBe(RetryReason.SERVICE_UNAVAILABLE);
    expect(schedule(RetryReason.SERVICE_UNAVAILABLE)).toEqual([MIN, 2 * MIN, 4 * MIN, 'exhausted']);
  });

  it('retries anything else twice from 5 min: generic declines, try_again_later, unknown codes', () => {
    expect(classifyFailure(decline('generic_decline'))).toBe(RetryReason.UNKNOWN);
    expect(classifyFailure(decline('do_not_honor'))).toBe(RetryReason.UNKNOWN);
    expect(classifyFailure(decline('some_new_code', 'try_again_later'))).toBe(RetryReason.UNKNOWN);
    expect(classifyFailure(error('card_declined', 402))).toBe(RetryReason.UNKNOWN);
    expect(classifyFailure(error('parameter_invalid', 400))).toBe(RetryReason.UNKNOWN);
    expect(schedule(RetryReason.UNKNOWN)).toEqual([5 * MIN, 10 * MIN, 'exhausted']);
  });

  it('prefers the decline code to the error code it sits in', () => {
    expect(strategyFor({ code: 'card_declined', declineCode: 'insufficient_funds', adviceCode: null, statusCode: 402 }).reason).toBe(RetryReason.INSUFFICIENT_FUNDS);
    expect(strategyFor({ code: 'processing_error', declineCode: 'stolen_card', adviceCode: null, statusCode: 402 }).reason).toBe(RetryReason.HARD_DECLINE);
  });
});

describe('retry strategies: backoff with jitter', () => {
  const strategy = STRATEGIES.PROCESSING_ERROR;

  it('doubles per retry: delay × 2^(retry-1)', () => {
    expect([1, 2, 3, 4].map((retry) => retryDelay(strategy, retry, 0.1, middle))).toEqual([MIN, 2 * MIN, 4 * MIN, 8 * MIN]);
  });

  it('spreads each delay by ±jitter with the injected random', () => {
    expect(retryDelay(strategy, 1, 0.1, () => 0)).toBe(0.9 * MIN);
    expect(retryDelay(strategy, 1, 0.1, () => 0.999_999)).toBe(1.1 * MIN);
    expect(retryDelay(strategy, 3, 0.1, () => 0.25)).toBe(4 * MIN * 0.95);
    expect(retryDelay(STRATEGIES.INSUFFICIENT_FUNDS, 1, 0, () => 0.9)).toBe(24 * HOUR);
  });

  it('keeps an immediate retry immediate whatever the jitter', () => {
    expect(retryDelay(STRATEGIES.NETWORK, 2, 0.5, () => 0.999)).toBe(0);
  });

  it('pulls a retry due after the deadline in to the deadline, and gives up once the deadline has passed', () => {
    const deadline = new Date(NOW.getTime() + 10 * HOUR);
    const base = { strategy: STRATEGIES.INSUFFICIENT_FUNDS, retriesUsed: 0, cardRetries: 0, cardBudget: 15, jitter: 0, random: middle };
    expect(nextStep({ ...base, now: NOW, deadline })).toEqual({ kind: 'retry', at: deadline, retry: 1 });
    expect(nextStep({ ...base, now: deadline, deadline })).toEqual({ kind: 'exhausted', why: 'no time left before access is cut' });
  });
});

describe('retry strategies: unknown outcomes re-send the same idempotency key', () => {
  it('treats no answer, 409 and 5xx as "maybe charged", and any other answer as decided', () => {
    expect([null, 409, 500, 503].map((statusCode) => outcomeUnknown({ statusCode }))).toEqual([true, true, true, true]);
    expect([402, 400, 429, 404].map((statusCode) => outcomeUnknown({ statusCode }))).toEqual([false, false, false, false]);
  });
});

describe('retry strategies: the per-card budget', () => {
  const base = { strategy: STRATEGIES.UNKNOWN, retriesUsed: 0, now: NOW, deadline: null, cardBudget: 15, jitter: 0, random: middle };

  it('allows retries while the card has fewer than 15 in the window', () => {
    expect(budgetSpent(14, 15)).toBe(false);
    expect(nextStep({ ...base, cardRetries: 14 }).kind).toBe('retry');
  });

  it('gives up once the card has spent its 15 retries, across all jobs', () => {
    expect(budgetSpent(15, 15)).toBe(true);
    expect(nextStep({ ...base, cardRetries: 15 })).toEqual({ kind: 'exhausted', why: 'card retry budget spent (15)' });
  });

  it('counts the last 30 days', () => {
    expect(budgetWindowStart(NOW, 30).toISOString()).toBe('2026-01-30T12:00:00.000Z');
  });

  it('still tells the customer to act when the budget is spent: asking them costs no retry', () => {
    expect(nextStep({ ...base, strategy: STRATEGIES.AUTHENTICATION_REQUIRED, cardRetries: 99 }).kind).toBe('customer_action');
  });
});
