/**
 * Cashfree's hosted checkout is opened from a web page with Cashfree's JS SDK and the order's
 * payment session id (Cashfree gives no plain URL to redirect to). This is that page, served by
 * Recoup at GET /checkout/cashfree/:session, which is where a Cashfree payment's checkoutUrl points
 * unless CASHFREE_CHECKOUT_URL says otherwise.
 */
const SDK = 'https://sdk.cashfree.com/js/v3/cashfree.js';

/** A session id as Cashfree makes them: letters, digits and a few URL-safe marks. */
export const SESSION_ID = /^[A-Za-z0-9_.~-]{1,512}$/;

export function cashfreeCheckoutPage(paymentSessionId: string, environment: 'sandbox' | 'production'): string {
  if (!SESSION_ID.test(paymentSessionId)) throw new Error('not a payment session id');
  // Only characters that need no escaping in HTML or a JS string reach the page (SESSION_ID).
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay</title><script src="${SDK}"></script></head>
<body><p>Opening the payment page…</p>
<script>
  const cashfree = Cashfree({ mode: "${environment}" });
  cashfree.checkout({ paymentSessionId: "${paymentSessionId}", redirectTarget: "_self" });
</script>
<noscript>The payment page needs JavaScript.</noscript>
</body></html>`;
}
