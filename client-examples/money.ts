/**
 * Amounts are integer minor units (Stripe's `amount`); the currency decides how many of them make
 * a unit (2 for USD, 0 for JPY). Shared by the admin CLI and the dashboard.
 */
export function money(amountMinor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() });
    return format.format(amountMinor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${amountMinor} ${currency} (minor units)`;
  }
}
