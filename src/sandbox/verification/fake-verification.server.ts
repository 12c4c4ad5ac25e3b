import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { systemClock, type Clock } from '../../platform/shared/clock';

/**
 * A KYC + e-sign provider look-alike on loopback, for tests and sandbox mode. Recoup opens a
 * session (POST /v1/verifications, idempotent on its reference); the customer opens the session's
 * page (/verify/<id>), types a PAN and their name, accepts the terms, and the fake "completes" the
 * verification: it POSTs signed webhooks (HMAC-SHA256 of the raw body, hex, in
 * x-verification-signature) to Recoup's /webhooks/verification: `verification.pending` with the
 * steps done, then `verification.verified` or `verification.rejected`. Tests drive the same thing
 * through complete(), and resend or forge events through deliver().
 */
export const FAKE_SIGNATURE_HEADER = 'x-verification-signature';
export const DEFAULT_FAKE_VERIFICATION_SECRET = 'recoup-sandbox-verification-secret';
const PAN = /^[A-Z]{5}[0-9]{4}[A-Z]$/;

export interface FakeVerificationOptions {
  port?: number;
  host?: string;
  webhookSecret?: string;
  /** Where webhooks go; setWebhookUrl() once Recoup's port is known. */
  webhookUrl?: string;
  clock?: Clock;
}

export interface FakeVerificationSession {
  id: string;
  reference: string;
  customer: { id?: string; name?: string | null; email?: string | null };
  termsVersion: string | null;
  steps: Array<'kyc' | 'esign'>;
  status: 'pending' | 'verified' | 'rejected';
  url: string;
  createdAt: string;
}

export interface FakeVerificationEvent {
  id: string;
  type: 'verification.pending' | 'verification.verified' | 'verification.rejected';
  created: string;
  data: Record<string, unknown>;
}

export interface FakeWebhookDelivery {
  eventId: string;
  type: string;
  status: number;
  body: unknown;
}

export interface CompleteOptions {
  outcome?: 'verified' | 'rejected';
  reason?: string;
  /** The PAN typed (default ABCDE1234F); one not shaped like a PAN is rejected. */
  pan?: string;
  /** The name on the document (default: the customer's). */
  name?: string;
  /** false: build the events without sending them (a test sends them itself, in any order). */
  send?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  body: unknown;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export class FakeVerification {
  readonly sessions = new Map<string, FakeVerificationSession>();
  readonly requests: RecordedRequest[] = [];
  readonly deliveries: FakeWebhookDelivery[] = [];
  url = '';
  port = 0;
  private server: Server | undefined;
  private webhookUrl: string | undefined;
  private settled: (() => Promise<void>) | undefined;
  private failures = 0;
  readonly webhookSecret: string;
  private readonly clock: Clock;

  constructor(options: FakeVerificationOptions = {}) {
    this.webhookSecret = options.webhookSecret ?? DEFAULT_FAKE_VERIFICATION_SECRET;
    this.webhookUrl = options.webhookUrl;
    this.clock = options.clock ?? systemClock;
  }

  /** `settled`: awaited after each delivery, e.g. until Recoup applied what it stored. */
  setWebhookUrl(url: string, options: { settled?: () => Promise<void> } = {}): void {
    this.webhookUrl = url;
    this.settled = options.settled;
  }

  /** The next `times` session requests answer 503, as a provider that is down. */
  failNextStarts(times = 1): void {
    this.failures = times;
  }

  sessionFor(reference: string): FakeVerificationSession | undefined {
    return [...this.sessions.values()].find((s) => s.reference === reference);
  }

  /** The signature the provider puts on a body. */
  sign(body: string, secret = this.webhookSecret): string {
    return createHmac('sha256', secret).update(body).digest('hex');
  }

  /**
   * The customer finished (or failed) the verification: the session's events, sent in order unless
   * `send` is false. Verified needs a PAN-shaped PAN; the e-signed document names the customer.
   */
  async complete(sessionId: string, options: CompleteOptions = {}): Promise<{ events: FakeVerificationEvent[]; deliveries: FakeWebhookDelivery[] }> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no verification session ${sessionId}`);
    const pan = (options.pan ?? 'ABCDE1234F').toUpperCase();
    const name = options.name ?? session.customer.name ?? '';
    const panOk = !session.steps.includes('kyc') || PAN.test(pan);
    const outcome = options.outcome === 'rejected' || !panOk ? 'rejected' : 'verified';
    const reason = outcome === 'rejected' ? (options.reason ?? (panOk ? 'document could not be verified' : 'PAN is not valid')) : null;
    const now = this.clock.now().toISOString();
    const base = { verification_id: session.id, reference: session.reference };
    const kyc = session.steps.includes('kyc')
      ? { pan_last4: panOk ? pan.slice(-4) : null, name, name_matched: name.trim().toLowerCase() === (session.customer.name ?? '').trim().toLowerCase() }
      : undefined;
    const esign = session.steps.includes('esign') && outcome === 'verified' && session.termsVersion ? this.signature(session, name, pan, now) : undefined;
    const stepsDone = [...(kyc ? ['kyc'] : []), ...(esign ? ['esign'] : [])];
    const events: FakeVerificationEvent[] = [
      { id: `vevt_${randomBytes(8).toString('hex')}`, type: 'verification.pending', created: now, data: { ...base, status: 'pending', steps_completed: stepsDone } },
      {
        id: `vevt_${randomBytes(8).toString('hex')}`,
        type: outcome === 'verified' ? 'verification.verified' : 'verification.rejected',
        created: now,
        data: { ...base, status: outcome, ...(reason ? { reason } : {}), steps_completed: stepsDone, ...(kyc ? { kyc } : {}), ...(esign ? { esign } : {}) },
      },
    ];
    session.status = outcome;
    const deliveries: FakeWebhookDelivery[] = [];
    if (options.send !== false) for (const event of events) deliveries.push(await this.deliver(event));
    return { events, deliveries };
  }

  /** POSTs one event to Recoup, signed (or with the given signature: a forgery, a wrong secret). */
  async deliver(event: FakeVerificationEvent, options: { signature?: string | null; rawBody?: string } = {}): Promise<FakeWebhookDelivery> {
    if (!this.webhookUrl) throw new Error('no webhook URL: call setWebhookUrl first');
    const body = options.rawBody ?? JSON.stringify(event);
    const signature = options.signature === undefined ? this.sign(body) : options.signature;
    const response = await fetch(this.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature === null ? {} : { [FAKE_SIGNATURE_HEADER]: signature }) },
      body,
    });
    const delivery = { eventId: event.id, type: event.type, status: response.status, body: await response.json().catch(() => null) };
    this.deliveries.push(delivery);
    if (response.ok) await this.settled?.();
    return delivery;
  }

  reset(): void {
    this.sessions.clear();
    this.requests.length = 0;
    this.deliveries.length = 0;
    this.failures = 0;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<void> {
    const app = this.app();
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(port, host, () => resolve());
      this.server.once('error', reject);
    });
    this.port = (this.server!.address() as AddressInfo).port;
    this.url = `http://${host}:${this.port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
  }

  private signature(session: FakeVerificationSession, name: string, pan: string, signedAt: string) {
    const document = Buffer.from(`Terms ${session.termsVersion}\nAccepted and e-signed by ${name} (PAN ending ${pan.slice(-4)})\nat ${signedAt}\nsession ${session.id}\n`, 'utf8');
    return { terms_version: session.termsVersion, signed_at: signedAt, document_sha256: createHash('sha256').update(document).digest('hex'), document: document.toString('base64') };
  }

  private app() {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: '100kb' }));
    app.use(express.urlencoded({ extended: false, limit: '10kb' }));
    app.use((req, _res, next) => {
      this.requests.push({ method: req.method, path: req.path, idempotencyKey: req.header('idempotency-key'), body: req.body });
      next();
    });
    app.post('/v1/verifications', (req: Request, res: Response) => {
      if (this.failures > 0) {
        this.failures--;
        res.status(503).json({ error: 'provider unavailable' });
        return;
      }
      const body = (req.body ?? {}) as { reference?: unknown; customer?: FakeVerificationSession['customer']; terms_version?: unknown; steps?: unknown };
      if (typeof body.reference !== 'string' || body.reference.length === 0) {
        res.status(400).json({ error: 'reference is required' });
        return;
      }
      const existing = this.sessionFor(body.reference);
      if (existing) {
        res.status(200).json(existing);
        return;
      }
      const id = `vrf_${randomBytes(8).toString('hex')}`;
      const steps = (Array.isArray(body.steps) ? body.steps : ['kyc']).filter((s): s is 'kyc' | 'esign' => s === 'kyc' || s === 'esign');
      const session: FakeVerificationSession = {
        id,
        reference: body.reference,
        customer: body.customer ?? {},
        termsVersion: typeof body.terms_version === 'string' ? body.terms_version : null,
        steps,
        status: 'pending',
        url: `${this.url}/verify/${id}`,
        createdAt: this.clock.now().toISOString(),
      };
      this.sessions.set(id, session);
      res.status(201).json(session);
    });
    app.get('/v1/verifications/:id', (req: Request, res: Response) => {
      const session = this.sessions.get(String(req.params.id));
      if (!session) res.status(404).json({ error: 'no such verification' });
      else res.json(session);
    });
    app.post('/v1/verifications/:id/complete', async (req: Request, res: Response) => {
      if (!this.sessions.has(String(req.params.id))) {
        res.status(404).json({ error: 'no such verification' });
        return;
      }
      const options = (req.body ?? {}) as CompleteOptions;
      res.json(await this.complete(String(req.params.id), { outcome: options.outcome, reason: options.reason, pan: options.pan, name: options.name }));
    });
    app.get('/verify/:id', (req: Request, res: Response) => {
      const session = this.sessions.get(String(req.params.id));
      if (!session) {
        res.status(404).type('html').send('<!doctype html><p>No such verification.</p>');
        return;
      }
      const terms = session.termsVersion && session.steps.includes('esign')
        ? `<p><label><input type="checkbox" name="accept" value="yes" required> I accept and e-sign terms <b>${escapeHtml(session.termsVersion)}</b></label></p>`
        : '';
      const kyc = session.steps.includes('kyc')
        ? `<p><label>PAN <input name="pan" value="ABCDE1234F" pattern="[A-Za-z]{5}[0-9]{4}[A-Za-z]"></label></p>`
        : '';
      res.setHeader('cache-control', 'no-store');
      res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Verify your identity</title></head>
<body><h1>Verify your identity (sandbox)</h1><p>Status: <b>${session.status}</b></p>
<form method="post" action="/verify/${escapeHtml(session.id)}">${kyc}
<p><label>Name on the document <input name="name" value="${escapeHtml(session.customer.name ?? '')}"></label></p>${terms}
<p><button name="outcome" value="verified">Verify</button> <button name="outcome" value="rejected" formnovalidate>Reject</button></p></form>
<p>Sandbox: no real identity check is made; the result is sent to Recoup as a signed webhook.</p></body></html>`);
    });
    app.post('/verify/:id', async (req: Request, res: Response) => {
      if (!this.sessions.has(String(req.params.id))) {
        res.status(404).type('html').send('<!doctype html><p>No such verification.</p>');
        return;
      }
      const form = (req.body ?? {}) as Record<string, string | undefined>;
      const outcome = form.outcome === 'rejected' ? 'rejected' : 'verified';
      await this.complete(String(req.params.id), { outcome, pan: form.pan, name: form.name, reason: outcome === 'rejected' ? 'the customer declined' : undefined });
      res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Done</title></head><body><h1>Verification ${outcome}</h1><p>You can return to checkout.</p></body></html>`);
    });
    return app;
  }
}

export async function startFakeVerification(options: FakeVerificationOptions = {}): Promise<FakeVerification> {
  const fake = new FakeVerification(options);
  await fake.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return fake;
}
