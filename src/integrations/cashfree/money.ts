/**
 * Cashfree states amounts in major units with at most two decimals (rupees and paise: 19.99), as
 * JSON numbers or strings; Recoup keeps integer minor units everywhere. This is the only place the
 * two meet, in both directions. Pure.
 */

/** Currencies whose minor unit is not a hundredth: Cashfree's two-decimal amounts cannot state them. */
const NOT_TWO_DECIMALS = new Set([
  'bif', 'clp', 'djf', 'gnf', 'isk', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf', // none
  'bhd', 'iqd', 'jod', 'kwd', 'lyd', 'omr', 'tnd', // three
]);

/** Whether a plan in this currency can be sold through Cashfree (amounts converted exactly). */
export function cashfreeCurrencySupported(currency: string): boolean {
  return /^[a-z]{3}$/i.test(currency) && !NOT_TWO_DECIMALS.has(currency.toLowerCase());
}

const DECIMAL = /^\d+(\.\d+)?$/;

/** A plain decimal string with at most two significant decimals, exactly; null otherwise. */
function decimalToMinor(text: string): number | null {
  const [whole, fraction = ''] = text.split('.') as [string, string?];
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > 2) return null;
  const minor = Number(whole) * 100 + Number(significant.padEnd(2, '0'));
  return Number.isSafeInteger(minor) ? minor : null;
}

/**
 * Tolerance for binary floating-point noise, in minor units (0.1 + 0.2 is 0.30000000000000004):
 * far below a real third decimal, which is at least a tenth of a minor unit away.
 */
const NOISE = 1e-6;

function numberToMinor(value: number): number | null {
  if (!Number.isFinite(value) || value < 0) return null;
  const text = String(value);
  if (DECIMAL.test(text)) {
    const exact = decimalToMinor(text);
    if (exact !== null) return exact;
  }
  const scaled = value * 100;
  const minor = Math.round(scaled);
  if (!Number.isSafeInteger(minor)) return null;
  return Math.abs(scaled - minor) <= NOISE ? minor : null;
}

/**
 * Major units (a number, or a decimal string such as "170.00") → integer minor units; null when it
 * is not money: negative, not a number, more than two decimals (19.999 is refused, never rounded),
 * or too large to count exactly.
 */
export function toMinor(value: unknown): number | null {
  if (typeof value === 'number') return numberToMinor(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!DECIMAL.test(text)) return null;
  return decimalToMinor(text) ?? numberToMinor(Number(text));
}

/**
 * The figure as an event stated it, in minor units when it converts, else as it was (so the money
 * checks in src/payments/event-money.ts call it what it is: not a whole number of minor units).
 */
export function statedMinor(value: unknown): unknown {
  const minor = toMinor(value);
  return minor === null ? value : minor;
}

/** Integer minor units → the major-unit number Cashfree is sent (1999 → 19.99; JSON prints it exactly). */
export function toMajor(minor: number): number {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`${minor} is not a whole, non-negative number of minor units`);
  // A correctly rounded division is the double nearest the decimal, which JSON prints as written.
  return minor / 100;
}
