import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { buildRecoup, killRecoup, startRecoupProcess, type RecoupProcess } from '../support/recoup-process';

/**
 * The README's five-minute sandbox tour, run as written: its start command's environment for a
 * real Recoup process in sandbox mode (no Stripe key: the built-in fakes), then every shell block
 * of the tour in one bash session, in order. Only the address changes (a free port instead of
 * 4000) and the database (a test database instead of the embedded one).
 */
const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');

function tourBlocks(): string[] {
  const start = README.indexOf('## A five-minute sandbox tour');
  const end = README.indexOf('\n## ', start + 1);
  if (start < 0 || end < 0) throw new Error('README has no "A five-minute sandbox tour" section');
  return [...README.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe("the README's sandbox tour", () => {
  let db: TestDatabase;
  let recoup: RecoupProcess | undefined;

  beforeAll(async () => {
    await buildRecoup();
    db = await createTestDatabase();
  }, 150_000);

  afterAll(async () => {
    if (recoup) await killRecoup(recoup);
    await db?.drop();
  });

  it('pays through Stripe and, after the KYC and e-sign gate, through Cashfree; delivers both, refunds and resolves the alert with the commands as written', async () => {
    const [startBlock, ...steps] = tourBlocks();
    const startCommand = startBlock.trim();
    expect(startCommand).toMatch(/^API_KEYS=\S+ npm start$/);
    const apiKeys = /^API_KEYS=(\S+)/.exec(startCommand)![1];
    recoup = await startRecoupProcess({ DATABASE_URL: db.url, API_KEYS: apiKeys, LOG_LEVEL: 'warn' });
    const port = new URL(recoup.url).port;

    const script = ['set -euo pipefail', ...steps].join('\n').replaceAll('http://localhost:4000', `http://localhost:${port}`);
    const { stdout } = await promisify(execFile)('bash', ['-c', script], { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
    const lines = stdout.trim().split('\n');

    // 2. Pay: each pay page's form (Stripe's, then Cashfree's) answers with the redirect to the sandbox's success page.
    expect(lines.filter((l) => l === `303 http://localhost:${port}/checkout/success`)).toHaveLength(2);
    // The Cashfree plan's verification gate: blocked with no payment, then VERIFIED by the provider's webhook.
    const blocked = JSON.parse(lines.find((l) => l.includes('VERIFICATION_REQUIRED'))!);
    expect(blocked.data.createPayment).toEqual({ outcome: 'VERIFICATION_REQUIRED', payment: null, verification: { status: 'PENDING', stepsLeft: ['KYC', 'ESIGN'], verificationUrl: expect.stringContaining('/verify/') } });
    const verified = JSON.parse(lines.find((l) => l.includes('documentSha256'))!);
    expect(verified.data.customer.verification).toEqual({ status: 'VERIFIED', termsVersion: 'v1', signedAt: expect.any(String), documentSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // 3. Both delivered, one through each gateway.
    const delivered = JSON.parse(lines.find((l) => l.includes('deliveryStatus'))!);
    expect(delivered.data.stripe).toMatchObject({ gateway: 'STRIPE', status: 'SUCCEEDED', deliveryStatus: 'DELIVERED', deliveredAt: expect.any(String) });
    expect(delivered.data.cashfree).toMatchObject({ gateway: 'CASHFREE', status: 'SUCCEEDED', deliveryStatus: 'DELIVERED', deliveredAt: expect.any(String) });
    const subscriptions = delivered.data.customerAccess.subscriptions;
    expect(subscriptions).toHaveLength(2);
    for (const subscription of subscriptions) {
      expect(subscription.subscription.status).toBe('ACTIVE');
      expect(subscription.channels[0]).toMatchObject({ linkStatus: 'OPEN', inviteLink: expect.stringMatching(/^https:\/\/t\.me\/\+/) });
    }
    expect(subscriptions.map((s: { channels: Array<{ title: string }> }) => s.channels[0].title).sort()).toEqual(['Tour channel', 'Tour channel (India)']);
    // 4. The refund behind Recoup's back raised PAYMENT_REFUNDED.
    expect(lines).toContain('200');
    const alerts = JSON.parse(lines.find((l) => l.includes('"alerts"'))!);
    expect(alerts.data.alerts.edges.map((e: { node: { type: string } }) => e.node.type)).toContain('PAYMENT_REFUNDED');
    // 5. Resolved, and where things stand.
    const resolved = JSON.parse(lines.find((l) => l.includes('resolveAlert'))!);
    expect(resolved.data.resolveAlert).toMatchObject({ type: 'PAYMENT_REFUNDED', resolvedBy: expect.any(String), resolutionNote: 'sandbox tour: refunded on purpose' });
    const after = JSON.parse(lines[lines.length - 1]);
    expect(after.data.payment).toMatchObject({ status: 'REFUNDED', deliveryAccessRevokedReason: expect.stringContaining('refunded') });
    const byChannel = new Map(after.data.customerAccess.subscriptions.map((s: { channels: Array<{ title: string }> }) => [s.channels[0].title, s]));
    expect(byChannel.get('Tour channel')).toMatchObject({ subscription: { status: 'LAPSED' }, channels: [{ linkStatus: 'REVOKED' }] });
    expect(byChannel.get('Tour channel (India)')).toMatchObject({ subscription: { status: 'ACTIVE' }, channels: [{ linkStatus: 'OPEN' }] });
    expect(after.data.alertSummary.totalOpen).toBe(0);
  }, 120_000);
});
