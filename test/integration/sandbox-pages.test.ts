import { startHarness, type Harness } from '../support/harness';

/**
 * Sandbox mode (no STRIPE_SECRET_KEY outside production; an empty value counts as unset): the fake
 * Checkout returns the buyer to /checkout/success or /checkout/cancel on Recoup, which answer a
 * small page. With a Stripe key those paths are the operator's and Recoup does not answer them.
 */
let sandbox: Harness;
let live: Harness;
beforeAll(async () => {
  sandbox = await startHarness({ env: { STRIPE_SECRET_KEY: '' } });
  live = await startHarness();
});
afterAll(async () => {
  await sandbox?.close();
  await live?.close();
});

async function get(h: Harness, path: string) {
  const response = await fetch(`${h.url}${path}`);
  return { response, body: await response.text() };
}

describe('in sandbox mode', () => {
  it('the harness really is in sandbox mode, and the checkout URLs point at these pages', () => {
    const { config } = sandbox.app.services;
    expect(config.sandbox).toBe(true);
    expect(new URL(config.stripe.checkoutSuccessUrl).pathname).toBe('/checkout/success');
    expect(new URL(config.stripe.checkoutCancelUrl).pathname).toBe('/checkout/cancel');
  });

  it('GET /checkout/success: 200 HTML saying the invite links are on their way via Telegram, with a link to the dashboard', async () => {
    const { response, body } = await get(sandbox, '/checkout/success');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(body).toContain('Your invite links are on their way via Telegram.');
    expect(body).toContain('<a href="/dashboard/">');
    expect(body).not.toContain('Checkout session');
  });

  it('GET /checkout/cancel: 200 HTML saying nothing was charged, with a link to the dashboard', async () => {
    const { response, body } = await get(sandbox, '/checkout/cancel');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(body).toContain('nothing was charged');
    expect(body).toContain('<a href="/dashboard/">');
  });

  it('strict headers: no script may run, no framing, no referrer, no sniffing, no caching', async () => {
    for (const path of ['/checkout/success', '/checkout/cancel']) {
      const { response } = await get(sandbox, path);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('script-src');
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('a session_id is shown, HTML-escaped: an injected tag is text, not markup', async () => {
    const plain = await get(sandbox, '/checkout/success?session_id=cs_test_123');
    expect(plain.body).toContain('<code>cs_test_123</code>');

    const injected = `<script>alert("x")</script>&'`;
    const { response, body } = await get(sandbox, `/checkout/success?session_id=${encodeURIComponent(injected)}`);
    expect(response.status).toBe(200);
    expect(body).not.toContain('<script');
    expect(body).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
  });

  it('a repeated session_id (an array) is ignored, not echoed', async () => {
    const { response, body } = await get(sandbox, '/checkout/success?session_id=a&session_id=<b>');
    expect(response.status).toBe(200);
    expect(body).not.toContain('<b>');
    expect(body).not.toContain('Checkout session');
  });
});

describe('outside sandbox mode (a Stripe key is set)', () => {
  it('/checkout/success and /checkout/cancel are not Recoup pages: 404', async () => {
    expect(live.app.services.config.sandbox).toBe(false);
    for (const path of ['/checkout/success', '/checkout/cancel', '/checkout/success?session_id=cs_test_123']) {
      const { response } = await get(live, path);
      expect(response.status).toBe(404);
    }
  });
});
