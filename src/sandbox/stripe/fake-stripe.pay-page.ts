import type { FakeCheckoutSession } from './fake-stripe.types';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function formatAmount(amountMinor: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).format(amountMinor / 100);
  } catch {
    return `${amountMinor} ${currency.toUpperCase()} (minor units)`;
  }
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
button{font-size:1.1rem;padding:.6rem 1.4rem}.note{color:#666;font-size:.9rem}</style></head>
<body>${body}<p class="note">Recoup sandbox: a fake Stripe Checkout. No real card is charged.</p></body></html>`;
}

/** The hosted checkout page a sandbox user clicks through instead of Stripe's. */
export function payPage(session: FakeCheckoutSession): string {
  if (session.status !== 'open') {
    return page('Checkout closed', `<h1>This checkout is ${escapeHtml(session.status)}</h1>`);
  }
  const cancel = session.cancel_url
    ? `<p><a href="${escapeHtml(session.cancel_url)}">Cancel and go back</a></p>`
    : '';
  return page(
    'Pay',
    `<h1>Pay ${escapeHtml(formatAmount(session.amount_total, session.currency))}</h1>
<form method="post" action="/pay/${encodeURIComponent(session.id)}"><button type="submit">Pay</button></form>${cancel}`,
  );
}

export function notFoundPage(): string {
  return page('Not found', '<h1>No such checkout session</h1>');
}

/** Stripe substitutes the session id into the success URL's {CHECKOUT_SESSION_ID} template. */
export function successRedirect(session: FakeCheckoutSession): string | undefined {
  return session.success_url?.replace('{CHECKOUT_SESSION_ID}', session.id);
}
