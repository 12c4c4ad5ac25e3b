import { watchAlerts, type LiveAlert, type StatusChange } from '../../client-examples/live-alerts';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { createTestDatabase } from '../support/database';
import { createPayment, seedCatalog } from '../support/fixtures';
import { API_KEY, eventually, startHarness, type Harness } from '../support/harness';
import { closedPort, cuttableProxy } from '../support/net';

const raise = (h: Harness, fingerprint: string, severity = AlertSeverity.HIGH) =>
  h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity, title: `Payment failed (${fingerprint})`, detail: 'card_declined', fingerprint });

/** Raises a fresh alert per poll until the watcher has received one of them (subscriptions register a moment after connecting). */
async function raiseUntilReceived(h: Harness, alerts: LiveAlert[], prefix: string): Promise<string[]> {
  const raised: string[] = [];
  await eventually(async () => {
    raised.push((await raise(h, `${prefix}-${raised.length}`)).alert.id);
    return alerts.some((a) => raised.includes(a.id));
  }, 5000, 100);
  return raised;
}

describe('live-alerts (graphql-ws subscriber) against a real server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

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

  it('watchAlerts reconnects to a new server instance on the same port after a restart and keeps delivering', async () => {
    // Its own database (the same for both instances, as a redeploy would have) on a port fixed for both.
    const database = await createTestDatabase();
    const env = { PORT: String(await closedPort()) };
    let before: Harness | undefined;
    let after: Harness | undefined;
    let watch: ReturnType<typeof watchAlerts> | undefined;
    const alerts: LiveAlert[] = [];
    const states: string[] = [];
    const errors: unknown[] = [];
    try {
      before = await startHarness({ database, env });
      watch = watchAlerts({
        url: before.url,
        token: before.tokens.viewer,
        onAlert: (a) => alerts.push(a),
        onError: (e) => errors.push(e),
        onConnection: (state) => states.push(state),
        baseRetryDelayMs: 20,
        maxRetryDelayMs: 200,
        // A restart takes longer than the default 20 attempts of at most 200 ms each.
        retryAttempts: 1000,
      });
      const first = await raiseUntilReceived(before, alerts, 'before-restart');
      expect(states).toEqual(['connected']);

      // The whole app goes away (sockets closed, port released), then a new one comes up on that port.
      await before.close();
      before = undefined;
      await eventually(async () => states.includes('disconnected'));
      after = await startHarness({ database, env });
      expect(after.url).toBe(`http://127.0.0.1:${env.PORT}`);
      await eventually(async () => states.filter((s) => s === 'connected').length === 2, 10_000);

      const second = await raiseUntilReceived(after, alerts, 'after-restart');
      expect(alerts.some((a) => second.includes(a.id))).toBe(true);
      expect(alerts.some((a) => first.includes(a.id))).toBe(true);
      // connected, then one or more closes (the shutdown and each refused attempt), then connected again.
      expect(states[0]).toBe('connected');
      expect(states[states.length - 1]).toBe('connected');
      expect(states.filter((s) => s === 'connected')).toHaveLength(2);
      expect(states.slice(1, -1).length).toBeGreaterThan(0);
      expect(states.slice(1, -1).every((s) => s === 'disconnected')).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await watch?.dispose();
      await before?.close();
      await after?.close();
      await database.drop();
    }
  });

  it('watchAlerts authenticates with an API key as well as a JWT', async () => {
    const alerts: LiveAlert[] = [];
    const errors: unknown[] = [];
    const watch = watchAlerts({ url: h.url, apiKey: API_KEY.key, onAlert: (a) => alerts.push(a), onError: (e) => errors.push(e) });
    try {
      await raiseUntilReceived(h, alerts, 'api-key');
      expect(errors).toEqual([]);
    } finally {
      await watch.dispose();
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
