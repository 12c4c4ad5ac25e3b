import { adminQuery } from '../support/database';
import { must } from '../support/fixtures';
import { eventually, startHarness, type Harness } from '../support/harness';

const RETRY_JOB = 'gateway-events:retry';
const HEALTH = `{ systemHealth { ok database { ok error } scheduler { ok backend } jobs { name schedule enabled description } gatewayMode pubsubMode sandbox checkedAt } }`;
const SET_ENABLED = `mutation($name: String!, $enabled: Boolean!) { setJobEnabled(name: $name, enabled: $enabled) { name enabled } }`;

describe('system health, jobs and HTTP endpoints', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ startJobs: true });
  });
  afterAll(async () => h?.close());

  const metrics = async (): Promise<string> => {
    const response = await fetch(`${h.url}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  const jobEnabled = async (name: string): Promise<boolean> => {
    const { systemHealth } = must(await h.gql(HEALTH, {}, { token: h.tokens.viewer }));
    return systemHealth.jobs.find((j: { name: string }) => j.name === name).enabled;
  };

  it('reports database, scheduler, jobs and modes in systemHealth', async () => {
    const { systemHealth } = must(await h.gql(HEALTH, {}, { token: h.tokens.viewer }));

    expect(systemHealth).toMatchObject({
      ok: true,
      database: { ok: true, error: null },
      scheduler: { ok: true, backend: 'postgres' },
      gatewayMode: 'TEST',
      pubsubMode: 'MEMORY',
      sandbox: false,
    });
    expect(systemHealth.jobs).toContainEqual(expect.objectContaining({ name: RETRY_JOB, schedule: 'every 1 minute', enabled: true }));
    expect(Date.parse(systemHealth.checkedAt)).not.toBeNaN();
  });

  it('pauses and resumes a job with setJobEnabled', async () => {
    expect(must(await h.gql(SET_ENABLED, { name: RETRY_JOB, enabled: false })).setJobEnabled).toEqual({ name: RETRY_JOB, enabled: false });
    expect(await jobEnabled(RETRY_JOB)).toBe(false);

    expect(must(await h.gql(SET_ENABLED, { name: RETRY_JOB, enabled: true })).setJobEnabled).toEqual({ name: RETRY_JOB, enabled: true });
    expect(await jobEnabled(RETRY_JOB)).toBe(true);
  });

  it('answers NOT_FOUND for an unknown job name', async () => {
    const result = await h.gql(SET_ENABLED, { name: 'no-such-job', enabled: false });
    expect(result.errors?.[0]).toMatchObject({ message: 'Job no-such-job was not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('answers GET /healthz with 200 {ok:true}', async () => {
    const response = await fetch(`${h.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('answers GET /readyz with 200 and the database and scheduler checks', async () => {
    const response = await fetch(`${h.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, database: { ok: true }, scheduler: { ok: true } });
  });

  it('counts HTTP requests in /metrics', async () => {
    await fetch(`${h.url}/healthz`);
    expect(await metrics()).toMatch(/^recoup_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+$/m);
  });

  it('counts a webhook with a bad signature in /metrics', async () => {
    const response = await fetch(`${h.url}/webhooks/stripe`, { method: 'POST', headers: { 'stripe-signature': 't=1,v1=deadbeef' }, body: '{"id":"evt_1"}' });
    expect(response.status).toBe(400);
    expect(await metrics()).toMatch(/^recoup_webhook_events_total\{source="stripe",type="other",outcome="bad_signature"\} [1-9]\d*$/m);
  });

  it('reports open alerts by severity in /metrics', async () => {
    await h.app.services.alerts.raiseNow({ type: 'PAYMENT_FAILED' as any, severity: 'HIGH' as any, title: 'metrics', detail: 'declined', subjectType: 'payment', subjectId: 'pay_metrics' });
    expect(await metrics()).toMatch(/^recoup_open_alerts\{severity="HIGH"\} [1-9]\d*$/m);
  });

  it('counts job runs in /metrics after a job ran', async () => {
    await h.app.services.scheduler.runNow(RETRY_JOB);
    const line = new RegExp(`^recoup_job_runs_total\\{job="${RETRY_JOB}",outcome="[a-z_]+"\\} [1-9]\\d*$`, 'm');
    await eventually(async () => line.test(await metrics()), 10_000, 100);
  });

  it('raises one JOB_FAILED alert for a job whose runs throw, counts them, and resolves it when a run succeeds', async () => {
    const JOB_ALERTS = `{ alerts(first: 10, filter: { types: [JOB_FAILED], subjectId: "${RETRY_JOB}" }) { edges { node { severity title detail occurrences resolvedAt resolvedBy } } } }`;
    const jobAlerts = async () => must(await h.gql(JOB_ALERTS, {}, { token: h.tokens.viewer })).alerts.edges.map((e: { node: unknown }) => e.node);
    // The inbox sweep cannot read its table: each run throws.
    await adminQuery(h.database.url, `alter table gateway_events rename to gateway_events_away`);
    try {
      await h.app.services.scheduler.runNow(RETRY_JOB);
      await eventually(async () => (await jobAlerts()).length === 1, 10_000, 100);
      await h.app.services.scheduler.runNow(RETRY_JOB);
      await eventually(async () => (await jobAlerts())[0].occurrences >= 2, 10_000, 100);
    } finally {
      await adminQuery(h.database.url, `alter table gateway_events_away rename to gateway_events`);
    }
    const [open] = await jobAlerts();
    expect(open).toMatchObject({ severity: 'HIGH', title: `Job ${RETRY_JOB} failed`, resolvedAt: null });
    expect(open.detail).toMatch(/gateway_events/);

    await h.app.services.scheduler.runNow(RETRY_JOB);
    const [resolved] = await eventually(async () => {
      const alerts = await jobAlerts();
      return alerts[0]?.resolvedAt ? alerts : null;
    }, 10_000, 100);
    expect(resolved).toMatchObject({ resolvedBy: 'system:scheduler' });
    expect(await jobAlerts()).toHaveLength(1);
  });

  it('answers an unknown route with a 404 JSON body', async () => {
    const response = await fetch(`${h.url}/no/such/route`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: 'Not found' });
  });
});
