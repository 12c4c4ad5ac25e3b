import net from 'node:net';
import { runAdmin } from '../../client-examples/admin';
import { watchAlerts, type LiveAlert, type StatusChange } from '../../client-examples/live-alerts';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { createPayment, must, seedCatalog } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

/** Runs the admin CLI in-process against the harness server; answers its exit code and output. */
async function admin(url: string, token: string, ...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runAdmin(argv, { url, token }, (l) => stdout.push(l), (l) => stderr.push(l));
  return { code, stdout, stderr, json: () => JSON.parse(stdout.join('\n')) };
}

const raise = (h: Harness, fingerprint: string, severity = AlertSeverity.HIGH) =>
  h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity, title: `Payment failed (${fingerprint})`, detail: 'card_declined', fingerprint });

/** A loopback TCP proxy to the server whose open connections a test can cut, as a flaky network would. */
async function cuttableProxy(targetPort: number, listenPort = 0) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

/** A loopback port nobody listens on (just released), so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Raises a fresh alert per poll until the watcher has received one of them (subscriptions register a moment after connecting). */
async function raiseUntilReceived(h: Harness, alerts: LiveAlert[], prefix: string): Promise<string[]> {
  const raised: string[] = [];
  await eventually(async () => {
    raised.push((await raise(h, `${prefix}-${raised.length}`)).alert.id);
    return alerts.some((a) => raised.includes(a.id));
  }, 5000, 100);
  return raised;
}

describe('client examples against a real server', () => {
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

  it('watchAlerts receives alerts raised after it connected, and payment status changes', async () => {
    const alerts: LiveAlert[] = [];
    const changes: StatusChange[] = [];
    const errors: unknown[] = [];
    let connected = false;
    const watch = watchAlerts({
      url: h.url,
      token: h.tokens.viewer,
      minSeverity: 'HIGH',
      onAlert: (a) => alerts.push(a),
      onStatusChange: (c) => changes.push(c),
      onError: (e) => errors.push(e),
      onConnection: (state) => (connected ||= state === 'connected'),
    });
    try {
      await eventually(async () => connected);
      const raised = await raiseUntilReceived(h, alerts, 'live');
      expect(raised).toContain(alerts[0].id);
      await raise(h, 'live-below-threshold', AlertSeverity.LOW);
      const { alert: last } = await raise(h, 'live-last');
      await eventually(async () => alerts.some((a) => a.id === last.id));
      expect(alerts.map((a) => a.severity)).not.toContain('LOW');

      const { customerId, planId } = await seedCatalog(h);
      const payment = await createPayment(h, customerId, planId);
      await h.stripe.completeCheckout(payment.stripeCheckoutSessionId);
      await eventually(async () => changes.some((c) => c.paymentId === payment.id));
      expect(changes.find((c) => c.paymentId === payment.id)).toMatchObject({ from: 'PENDING', to: 'SUCCEEDED', actor: 'system:stripe-webhook' });
      expect(errors).toEqual([]);
    } finally {
      await watch.dispose();
    }
  });

  it('watchAlerts reconnects with backoff after the connection drops and keeps delivering', async () => {
    const proxy = await cuttableProxy(h.app.port);
    const alerts: LiveAlert[] = [];
    const states: string[] = [];
    const errors: unknown[] = [];
    const watch = watchAlerts({
      url: proxy.url,
      token: h.tokens.viewer,
      onAlert: (a) => alerts.push(a),
      onError: (e) => errors.push(e),
      onConnection: (state) => states.push(state),
      baseRetryDelayMs: 20,
      maxRetryDelayMs: 200,
    });
    try {
      await raiseUntilReceived(h, alerts, 'before-drop');
      proxy.cut();
      await eventually(async () => states.filter((s) => s === 'connected').length >= 2);
      expect(states).toContain('disconnected');

      const after = await raiseUntilReceived(h, alerts, 'after-drop');
      expect(alerts.filter((a) => after.includes(a.id)).length).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await watch.dispose();
      await proxy.close();
    }
  });

  it('watchAlerts keeps retrying while the server is unreachable and connects once it is up', async () => {
    const port = await closedPort();
    const alerts: LiveAlert[] = [];
    const states: string[] = [];
    const watch = watchAlerts({ url: `http://127.0.0.1:${port}`, token: h.tokens.viewer, onAlert: (a) => alerts.push(a), onConnection: (s) => states.push(s), baseRetryDelayMs: 20, maxRetryDelayMs: 100 });
    let proxy: Awaited<ReturnType<typeof cuttableProxy>> | undefined;
    try {
      await eventually(async () => states.filter((s) => s === 'disconnected').length >= 2);
      proxy = await cuttableProxy(h.app.port, port);
      await raiseUntilReceived(h, alerts, 'server-up');
      expect(states).toContain('connected');
    } finally {
      await watch.dispose();
      await proxy?.close();
    }
  });

  it('watchAlerts reports a refused token once instead of retrying it', async () => {
    const errors: unknown[] = [];
    const watch = watchAlerts({ url: h.url, token: 'not-a-jwt', onAlert: () => undefined, onError: (e) => errors.push(e), baseRetryDelayMs: 10 });
    try {
      await eventually(async () => errors.length > 0);
      expect((errors[0] as { code?: number }).code).toBe(4403);
    } finally {
      await watch.dispose();
    }
  });
});
