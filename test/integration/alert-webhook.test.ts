import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Alert } from '../../src/alerts/alert.entity';
import { AlertSeverity, AlertType } from '../../src/alerts/alert.types';
import { eventually, startHarness, type Harness } from '../support/harness';

interface Received {
  body: { text: string; blocks: unknown[] };
  answered: number;
}

/** A Slack-like receiver on loopback: answers each post with the next scripted status (then 200). */
async function startReceiver() {
  const received: Received[] = [];
  const script: number[] = [];
  let hangFor: string | null = null;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw) as Received['body'];
      if (hangFor && body.text.includes(hangFor)) return; // never answers: the notifier's timeout applies
      const answered = script.shift() ?? 200;
      received.push({ body, answered });
      res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'oops');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`,
    received,
    script,
    hang: (title: string) => (hangFor = title),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

describe('outbound alert webhook (ALERT_WEBHOOK_URL)', () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHarness({
      env: { ALERT_WEBHOOK_URL: receiver.url, ALERT_WEBHOOK_BACKOFF_BASE_MS: '50', ALERT_WEBHOOK_BACKOFF_CAP_MS: '200', ALERT_WEBHOOK_MAX_ATTEMPTS: '3', ALERT_WEBHOOK_TIMEOUT_MS: '300' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.script.length = 0;
  });

  const raise = (title: string, severity: AlertSeverity) =>
    h.app.services.alerts.raiseNow({ type: AlertType.PAYMENT_FAILED, severity, title, detail: `detail of ${title}`, subjectType: 'payment', subjectId: title });
  const stored = (id: string) => h.app.services.db.fork().findOneOrFail(Alert, id);

  it('posts a HIGH alert as a Slack message after commit', async () => {
    const { alert } = await raise('card declined twice', AlertSeverity.HIGH);
    await eventually(async () => receiver.received.length === 1);
    expect(receiver.received[0].body.text).toContain('[HIGH] card declined twice');
    expect(JSON.stringify(receiver.received[0].body.blocks)).toContain('detail of card declined twice');
    await eventually(async () => (await stored(alert.id)).notifyStatus === 'SENT');
  });

  it('retries a 500 from the receiver with backoff, then succeeds', async () => {
    receiver.script.push(500, 503);
    const { alert } = await raise('payout failed', AlertSeverity.CRITICAL);
    const done = await eventually(async () => {
      const a = await stored(alert.id);
      return a.notifyStatus === 'SENT' && a;
    });
    expect(receiver.received.map((r) => r.answered)).toEqual([500, 503, 200]);
    expect(done.notifyAttempts).toBe(3);
  });

  it('gives up after the bounded number of attempts', async () => {
    receiver.script.push(500, 500, 500, 500);
    const { alert } = await raise('receiver is down', AlertSeverity.HIGH);
    const failed = await eventually(async () => {
      const a = await stored(alert.id);
      return a.notifyStatus === 'FAILED' && a;
    });
    expect(failed).toMatchObject({ notifyAttempts: 3, notifyError: 'HTTP 500' });
    expect(receiver.received).toHaveLength(3);
  });

  it('does not send LOW, MEDIUM or INFO alerts, nor a repeat of an open one', async () => {
    await raise('low one', AlertSeverity.LOW);
    await raise('medium one', AlertSeverity.MEDIUM);
    await raise('info one', AlertSeverity.INFO);
    await raise('sent once', AlertSeverity.HIGH);
    await raise('sent once', AlertSeverity.HIGH);
    await eventually(async () => receiver.received.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for any wrong post to arrive
    expect(receiver.received.map((r) => r.body.text)).toEqual(['[HIGH] sent once (payment sent once)'].map((t) => `:warning: ${t}`));
  });

  it('never holds the raising transaction: a hanging receiver does not slow raise()', async () => {
    receiver.hang('hanging receiver');
    const started = Date.now();
    const { alert } = await raise('hanging receiver', AlertSeverity.HIGH);
    expect(Date.now() - started).toBeLessThan(250);
    // Each attempt times out (ALERT_WEBHOOK_TIMEOUT_MS) and the bounded retries end in FAILED.
    const failed = await eventually(async () => {
      const a = await stored(alert.id);
      return a.notifyStatus === 'FAILED' && a;
    }, 5000);
    expect(failed.notifyAttempts).toBe(3);
  });

  it('the sweep sends what a crash left PENDING', async () => {
    const { alert } = await h.app.services.alerts.raiseNow({ type: AlertType.JOB_FAILED, severity: AlertSeverity.LOW, title: 'left behind', detail: 'x' });
    await h.app.services.db.fork().execute(`update alerts set notify_status = 'PENDING', notify_next_at = now() - interval '1 minute' where id = ?`, [alert.id]);
    expect(await h.app.services.alertNotifier.sweep()).toEqual({ claimed: 1 });
    expect(receiver.received.map((r) => r.body.text)).toEqual(['[LOW] left behind']);
    expect((await stored(alert.id)).notifyStatus).toBe('SENT');
  });
});
