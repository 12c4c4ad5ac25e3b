import { cashfreeCurrencySupported, statedMinor, toMajor, toMinor } from '../../src/integrations/cashfree/money';

describe('Cashfree money: major units with two decimals ↔ integer minor units', () => {
  it('converts plain amounts, numbers and strings alike', () => {
    expect(toMinor(19.99)).toBe(1999);
    expect(toMinor('19.99')).toBe(1999);
    expect(toMinor(2)).toBe(200);
    expect(toMinor('2')).toBe(200);
    expect(toMinor(0)).toBe(0);
    expect(toMinor(0.01)).toBe(1);
    expect(toMinor('170.00')).toBe(17000);
    expect(toMinor(' 5.5 ')).toBe(550);
    expect(toMinor('5.50000')).toBe(550);
  });

  it('counts floating-point noise as the amount it stands for, never a paisa more or less', () => {
    expect(toMinor(0.1 + 0.2)).toBe(30);
    expect(toMinor(String(0.1 + 0.2))).toBe(30);
    expect(toMinor(1.1 + 2.2)).toBe(330);
    expect(toMinor(19.99 * 3)).toBe(5997);
    expect(toMinor(0.07 * 100 / 100)).toBe(7);
  });

  it('refuses a third decimal instead of rounding it', () => {
    expect(toMinor(19.999)).toBeNull();
    expect(toMinor(1.005)).toBeNull();
    expect(toMinor('19.995')).toBeNull();
    expect(toMinor(0.001)).toBeNull();
    expect(toMinor('0.001')).toBeNull();
  });

  it('handles large amounts exactly: ten million rupees and more', () => {
    expect(toMinor(1e7)).toBe(1_000_000_000);
    expect(toMinor('10000000.00')).toBe(1_000_000_000);
    expect(toMinor(9999999.99)).toBe(999_999_999);
    expect(toMinor(123456789012.34)).toBe(12_345_678_901_234);
    expect(toMinor(1e21)).toBeNull();
    expect(toMinor('99999999999999999999.99')).toBeNull();
  });

  it('refuses what is not money', () => {
    for (const value of [-1, -0.01, '-1', NaN, Infinity, '1e3', '0x10', '', ' ', 'abc', '1,000.00', null, undefined, true, {}, []]) {
      expect(toMinor(value)).toBeNull();
    }
  });

  it('passes a figure that does not convert on as stated, for the money checks to name', () => {
    expect(statedMinor('19.99')).toBe(1999);
    expect(statedMinor(19.999)).toBe(19.999);
    expect(statedMinor('abc')).toBe('abc');
    expect(statedMinor(undefined)).toBeUndefined();
  });

  it('sends minor units back as the two-decimal number they are, round trip exact', () => {
    expect(toMajor(1999)).toBe(19.99);
    expect(JSON.stringify({ order_amount: toMajor(1999) })).toBe('{"order_amount":19.99}');
    expect(toMajor(1)).toBe(0.01);
    expect(toMajor(1_000_000_000)).toBe(1e7);
    for (let minor = 0; minor <= 100_000; minor++) {
      if (toMinor(toMajor(minor)) !== minor || toMinor(JSON.parse(JSON.stringify(toMajor(minor)))) !== minor) throw new Error(`round trip broke at ${minor}`);
    }
    for (const minor of [999_999_999, 2_147_483_647, 12_345_678_901_234, Number.MAX_SAFE_INTEGER - 1]) {
      expect(toMinor(String(toMajor(minor)))).toBe(minor);
    }
  });

  it('refuses to send a figure that is not whole minor units', () => {
    expect(() => toMajor(19.5)).toThrow(RangeError);
    expect(() => toMajor(-1)).toThrow(RangeError);
    expect(() => toMajor(NaN)).toThrow(RangeError);
  });

  it('sells only two-decimal currencies through Cashfree', () => {
    expect(cashfreeCurrencySupported('inr')).toBe(true);
    expect(cashfreeCurrencySupported('USD')).toBe(true);
    expect(cashfreeCurrencySupported('jpy')).toBe(false);
    expect(cashfreeCurrencySupported('kwd')).toBe(false);
    expect(cashfreeCurrencySupported('rupees')).toBe(false);
  });
});
