import { Router, type Response } from 'express';
import { createHash } from 'node:crypto';

/**
 * Sandbox mode only: where the fake Stripe Checkout sends the buyer back. CHECKOUT_SUCCESS_URL and
 * CHECKOUT_CANCEL_URL default to /checkout/success and /checkout/cancel on Recoup itself; outside
 * the sandbox those are the operator's own pages and nothing is mounted here.
 */
const STYLE = 'body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}code{word-break:break-all}.note{color:#666;font-size:.9rem}';
// No script at all; the one inline style is allowed by its hash, nothing else loads.
const CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function send(res: Response, title: string, body: string): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('cache-control', 'no-store');
  res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}
<p><a href="/dashboard/">Open the dashboard</a></p>
<p class="note">Recoup sandbox: fake Stripe and fake Telegram. No real card is charged.</p></body></html>`);
}

export function sandboxCheckoutPagesRouter(): Router {
  const router = Router();
  router.get('/checkout/success', (req, res) => {
    const sessionId = typeof req.query.session_id === 'string' ? req.query.session_id.slice(0, 200) : undefined;
    const session = sessionId ? `<p>Checkout session: <code>${escapeHtml(sessionId)}</code></p>` : '';
    send(res, 'Payment received', `<h1>Payment received</h1>
<p>Thank you: you have paid. Your invite links are on their way via Telegram.</p>${session}`);
  });
  router.get('/checkout/cancel', (_req, res) => {
    send(res, 'Checkout cancelled', `<h1>Checkout cancelled</h1>
<p>You cancelled the checkout: nothing was charged.</p>`);
  });
  return router;
}
