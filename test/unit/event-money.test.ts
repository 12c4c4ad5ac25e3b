import { checkEventMoney, describeProblems, onlyMismatches, type MoneyCheck } from '../../src/payments/event-money';

const payment = { amountMinor: 2500, currency: 'usd' };
const problems = (check: MoneyCheck) => (check.ok ? [] : check.problems.map((p) => [p.field, p.kind]));

describe('checkEventMoney: what an event may record against a payment', () => {
  it.each([
    ['a full refund', { amountMinor: 2500, refundedMinor: 2500, currency: 'usd' }],
    ['a partial refund', { amountMinor: 2500, refundedMinor: 1000, currency: 'usd' }],
    ['no refund yet', { amountMinor: 2500, refundedMinor: 0, currency: 'usd' }],
    ['an upper-case currency', { amountMinor: 2500, currency: 'USD' }],
    ['a paid intent', { amountMinor: 2500, receivedMinor: 2500, currency: 'usd' }],
    ['an authorization (nothing received yet)', { amountMinor: 2500, receivedMinor: 0, currency: 'usd' }],
    ['a dispute of part of the payment', { disputedMinor: 1200, currency: 'usd' }],
    ['nothing to check', {}],
  ])('accepts %s', (_label, stated) => {
    expect(checkEventMoney(payment, stated)).toEqual({ ok: true });
  });

  it('refuses a refund total above the payment (999999 of 2500)', () => {
    const check = checkEventMoney(payment, { amountMinor: 2500, refundedMinor: 999_999, currency: 'usd' });
    // Above the charge's own amount, too: the object contradicts itself.
    expect(problems(check)).toEqual([['refundedMinor', 'invalid']]);
    expect(describeProblems(check)).toBe('amount refunded 999999 is more than the 2500 charged');
    expect(problems(checkEventMoney(payment, { refundedMinor: 2501 }))).toEqual([['refundedMinor', 'mismatch']]);
  });

  it.each([
    ['negative', -100],
    ['fractional', 12.5],
    ['a string', '2500'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['beyond safe integers', 2 ** 60],
    ['null', null],
    ['undefined (given but missing)', undefined],
  ])('refuses a refunded amount that is %s', (_label, value) => {
    const check = checkEventMoney(payment, { amountMinor: 2500, refundedMinor: value, currency: 'usd' });
    expect(problems(check)).toEqual([['refundedMinor', 'invalid']]);
    expect(onlyMismatches(check)).toBe(false);
  });

  it('refuses another currency as a mismatch, and a non-code as invalid', () => {
    const other = checkEventMoney(payment, { amountMinor: 2500, refundedMinor: 1000, currency: 'eur' });
    expect(problems(other)).toEqual([['currency', 'mismatch']]);
    expect(describeProblems(other)).toBe("currency EUR differs from the payment's USD");
    expect(onlyMismatches(other)).toBe(true);
    expect(problems(checkEventMoney(payment, { currency: 'us dollars' }))).toEqual([['currency', 'invalid']]);
    expect(problems(checkEventMoney(payment, { currency: 840 }))).toEqual([['currency', 'invalid']]);
  });

  it('refuses an intent whose amount differs from what we charged, and more received than charged', () => {
    expect(problems(checkEventMoney(payment, { amountMinor: 100, receivedMinor: 100, currency: 'usd' }))).toEqual([['amountMinor', 'mismatch']]);
    expect(problems(checkEventMoney(payment, { amountMinor: 2500, receivedMinor: 2600, currency: 'usd' }))).toEqual([['receivedMinor', 'invalid']]);
  });

  it('refuses a dispute larger than the payment', () => {
    expect(problems(checkEventMoney(payment, { disputedMinor: 5000, currency: 'usd' }))).toEqual([['disputedMinor', 'mismatch']]);
  });

  it('lists every problem at once', () => {
    const check = checkEventMoney(payment, { amountMinor: -1, refundedMinor: 1.5, currency: 'gbp' });
    expect(problems(check)).toEqual([['amountMinor', 'invalid'], ['refundedMinor', 'invalid'], ['currency', 'mismatch']]);
    expect(describeProblems(check)).toBe("amount -1 is not a whole, non-negative number of minor units; amount refunded 1.5 is not a whole, non-negative number of minor units; currency GBP differs from the payment's USD");
  });
});
