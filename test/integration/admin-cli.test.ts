import net from 'node:net';
import { runAdmin } from '../../client-examples/admin-cli';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';

/** Runs the admin CLI in-process against the harness server; answers its exit code and output. */
async function admin(url: string, token: string, ...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runAdmin(argv, { url, token }, (l) => stdout.push(l), (l) => stderr.push(l));
  return { code, stdout, stderr, json: () => JSON.parse(stdout.join('\n')) };
}

const raise = (h: Harness, fingerprint: string, severity = AlertSeverity.HIGH) =>
  h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity, title: `Payment failed (${fingerprint})`, detail: 'card_declined', fingerprint });

/** A loopback port nobody listens on (just released), so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('admin CLI against a real server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  it('admin payments --json lists a payment created through checkout', async () => {
    const { customerId, planId } = await seedCatalog(h);
    const payment = await createPayment(h, customerId, planId);

    const all = await admin(h.url, h.tokens.viewer, 'payments', '--json');
    expect(all.code).toBe(0);
    expect(all.json()).toMatchObject({ totalCount: 1, payments: [{ id: payment.id, status: 'PENDING', amountMinor: 2500, currency: 'usd', customerId }] });

    const none = await admin(h.url, h.tokens.viewer, 'payments', '--status', 'succeeded', '--first', '5', '--json');
    expect(none.json()).toEqual({ totalCount: 0, payments: [] });
    const text = await admin(h.url, h.tokens.viewer, 'payments');
    expect(text.stdout[0]).toContain(payment.id);
    expect(text.stdout[0]).toContain('$25.00');
  });

  it('admin alerts --open shows an open alert, resolve-alert resolves it with the note', async () => {
    const { alert } = await raise(h, 'cli-resolve');

    const open = await admin(h.url, h.tokens.viewer, 'alerts', '--open');
    expect(open.code).toBe(0);
    expect(open.stdout[0]).toContain(alert.id);
    expect(open.stdout[0]).toContain('PAYMENT_FAILED');
    expect(open.stdout.at(-1)).toBe('1 of 1 open alert(s)');

    const resolved = await admin(h.url, h.tokens.operator, 'resolve-alert', alert.id, '--note', 'refunded by hand', '--json');
    expect(resolved).toMatchObject({ code: 0, stderr: [] });
    expect(resolved.json()).toMatchObject({ id: alert.id, resolvedBy: 'operator:olga-operator', resolutionNote: 'refunded by hand' });

    const stored = must(await h.gql(`query($id: ID!) { alert(id: $id) { resolvedAt resolvedBy resolutionNote } }`, { id: alert.id }));
    expect(stored.alert).toMatchObject({ resolvedBy: 'operator:olga-operator', resolutionNote: 'refunded by hand' });
    expect(stored.alert.resolvedAt).toBeTruthy();
    expect((await admin(h.url, h.tokens.viewer, 'alerts', '--open', '--json')).json()).toEqual({ totalCount: 0, alerts: [] });
  });

  it('exits 1 with the error code when a VIEWER tries to resolve, and leaves the alert open', async () => {
    const { alert } = await raise(h, 'cli-forbidden');

    const result = await admin(h.url, h.tokens.viewer, 'resolve-alert', alert.id, '--note', 'x');

    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/^error: FORBIDDEN: /);
    const stored = must(await h.gql(`query($id: ID!) { alert(id: $id) { resolvedAt } }`, { id: alert.id }));
    expect(stored.alert.resolvedAt).toBeNull();
  });

  it('exits 2 when the server cannot be reached and 64 on bad usage', async () => {
    const port = await closedPort();
    const down = await admin(`http://127.0.0.1:${port}`, h.tokens.admin, 'alerts');
    expect(down.code).toBe(2);
    expect(down.stderr).toEqual([`error: NETWORK: cannot reach http://127.0.0.1:${port}/graphql: ECONNREFUSED`]);
    expect((await admin(h.url, h.tokens.admin, 'payments', '--first', '0')).code).toBe(64);
    expect((await admin(h.url, h.tokens.admin, 'refund')).code).toBe(64);
    expect((await admin(h.url, h.tokens.admin, 'resolve-alert')).code).toBe(64);
  });

});
