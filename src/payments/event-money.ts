/**
 * Whether the money a gateway object states (a webhook event's snapshot, or what the gateway
 * answers when asked) can be recorded against a payment. Pure: no I/O, no clock.
 *
 * Only the fields the caller gives are checked; a field given as null or undefined is missing,
 * which is a problem. Two kinds of problem:
 * - `invalid`: not money at all, or contradicting itself (a negative or fractional amount, a
 *   currency that is not a three-letter code, more refunded than the object says was charged);
 * - `mismatch`: valid money that disagrees with the payment (another amount or currency, more
 *   refunded or disputed than the payment's amount).
 */
export interface PaymentMoney {
  amountMinor: number;
  currency: string;
}

export interface StatedMoney {
  /** What was charged: a charge's or an intent's `amount`, a session's `amount_total`. */
  amountMinor?: unknown;
  /** An intent's `amount_received`. */
  receivedMinor?: unknown;
  /** A charge's `amount_refunded` (a running total, not one refund). */
  refundedMinor?: unknown;
  /** A dispute's `amount`. */
  disputedMinor?: unknown;
  currency?: unknown;
}

export type MoneyField = keyof StatedMoney;

export interface MoneyProblem {
  field: MoneyField;
  kind: 'invalid' | 'mismatch';
  message: string;
}

export type MoneyCheck = { ok: true } | { ok: false; problems: MoneyProblem[] };

const LABELS: Record<MoneyField, string> = {
  amountMinor: 'amount',
  receivedMinor: 'amount received',
  refundedMinor: 'amount refunded',
  disputedMinor: 'amount disputed',
  currency: 'currency',
};

const isMinor = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const shown = (value: unknown): string =>
  value === undefined ? 'missing' : typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));

export function checkEventMoney(payment: PaymentMoney, stated: StatedMoney): MoneyCheck {
  const problems: MoneyProblem[] = [];
  const invalid = (field: MoneyField, message: string) => problems.push({ field, kind: 'invalid', message: `${LABELS[field]} ${message}` });
  const mismatch = (field: MoneyField, message: string) => problems.push({ field, kind: 'mismatch', message: `${LABELS[field]} ${message}` });
  const has = (field: MoneyField): boolean => field in stated;

  /** The figure when it is a whole, non-negative number of minor units; else a problem and null. */
  const minor = (field: MoneyField): number | null => {
    if (!has(field)) return null;
    const value = stated[field];
    if (isMinor(value)) return value;
    invalid(field, `${shown(value)} is not a whole, non-negative number of minor units`);
    return null;
  };

  const amount = minor('amountMinor');
  if (amount !== null && amount !== payment.amountMinor) mismatch('amountMinor', `${amount} differs from the payment's ${payment.amountMinor}`);

  /** At most what the same object says was charged (invalid), and at most the payment's amount (mismatch). */
  const partOf = (field: MoneyField): void => {
    const value = minor(field);
    if (value === null) return;
    if (amount !== null && value > amount) invalid(field, `${value} is more than the ${amount} charged`);
    else if (value > payment.amountMinor) mismatch(field, `${value} is more than the payment's ${payment.amountMinor}`);
  };
  partOf('receivedMinor');
  partOf('refundedMinor');
  partOf('disputedMinor');

  if (has('currency')) {
    const currency = stated.currency;
    if (typeof currency !== 'string' || !/^[a-z]{3}$/i.test(currency)) invalid('currency', `${shown(currency)} is not a currency code`);
    else if (currency.toLowerCase() !== payment.currency.toLowerCase()) {
      mismatch('currency', `${currency.toUpperCase()} differs from the payment's ${payment.currency.toUpperCase()}`);
    }
  }

  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

/** The problems as one sentence for an alert or an event outcome. */
export const describeProblems = (check: MoneyCheck): string => (check.ok ? 'none' : check.problems.map((p) => p.message).join('; '));

/** Whether every problem is only a disagreement with the payment (the figures themselves are possible). */
export const onlyMismatches = (check: MoneyCheck): boolean => check.ok || check.problems.every((p) => p.kind === 'mismatch');
