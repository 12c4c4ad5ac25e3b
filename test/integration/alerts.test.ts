import { AuditEntry } from '../../src/audit/audit-entry.entity';
import type { ManualClock } from '../../src/platform/shared/clock';
import { must } from '../support/fixtures';
import { collect, eventually, startHarness, type Harness } from '../support/harness';

type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFO';
type Sub = ReturnType<typeof collect<any>>;

const ALERT_FIELDS = `id type severity title occurrences firstSeenAt lastSeenAt resolvedAt resolvedBy resolutionNote`;
const SUBSCRIPTION = `subscription($min: AlertSeverity) { alertRaised(minSeverity: $min) { id title severity } }`;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe('alerts', () => {
  let h: Harness;
  let clock: ManualClock;
  let probes = 0;

  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    clock = h.clock as ManualClock;
  });
  afterAll(async () => h?.close());
  beforeEach(async () => h.reset());

  const raise = (title: string, opts: { severity?: Severity; type?: string; subjectId?: string } = {}) =>
    h.app.services.alerts.raiseNow({
      type: (opts.type ?? 'PAYMENT_FAILED') as any,
      severity: (opts.severity ?? 'HIGH') as any,
      title,
      detail: `${title}: card declined`,
      subjectType: 'payment',
      subjectId: opts.subjectId ?? title,
    });

  const resolve = (id: string, note: string | null, token = h.tokens.operator) =>
    h.gql(`mutation($id: ID!, $note: String) { resolveAlert(id: $id, note: $note) { ${ALERT_FIELDS} } }`, { id, note }, { token });

  const titles = async (filter: Record<string, unknown>): Promise<string[]> => {
    const result = await h.gql(`query($f: AlertFilter) { alerts(first: 100, filter: $f) { edges { node { title } } } }`, { f: filter });
    return must(result).alerts.edges.map((e: any) => e.node.title).sort();
  };

  /** Raises CRITICAL probes until every subscriber has one: the subscriptions are live. */
  async function live(...subs: Sub[]): Promise<void> {
    for (let i = 0; i < 50 && subs.some((s) => s.events.length === 0); i++) {
      await raise(`probe-${++probes}`, { severity: 'CRITICAL' });
      await Promise.all(subs.map((s) => s.waitFor(1, 100).catch(() => undefined)));
    }
    await Promise.all(subs.map((s) => s.waitFor(1)));
  }

  /** The first `count` alerts a subscriber received that were not probes (a late probe may still arrive). */
  const received = (sub: Sub, count: number) =>
    eventually(async () => {
      const alerts = sub.events.map((e) => e.alertRaised).filter((a) => !a.title.startsWith('probe-'));
      return alerts.length >= count && alerts;
    });

  it('publishes a raised alert to alertRaised subscribers', async () => {
    const sub = collect(h.wsClient({ token: h.tokens.viewer }), SUBSCRIPTION);
    await live(sub);
    const { alert } = await raise('card declined for pay_1');

    expect(await received(sub, 1)).toEqual([{ id: alert.id, title: 'card declined for pay_1', severity: 'HIGH' }]);
  });

  it('delivers to a subscriber only alerts at or above its minSeverity', async () => {
    const high = collect(h.wsClient(), SUBSCRIPTION, { min: 'HIGH' });
    const info = collect(h.wsClient(), SUBSCRIPTION, { min: 'INFO' });
    await live(high, info);
    await raise('low one', { severity: 'LOW' });
    await raise('high one', { severity: 'HIGH' });

    expect((await received(info, 2)).map((a) => a.title)).toEqual(['low one', 'high one']);
    expect((await received(high, 1)).map((a) => a.title)).toEqual(['high one']);
  });

  it('counts a repeated fingerprint on one open alert and publishes it once', async () => {
    const sub = collect(h.wsClient(), SUBSCRIPTION);
    await live(sub);
    const first = await raise('declined', { subjectId: 'pay_7' });
    const firstSeen = clock.now();
    const later = clock.advance(60_000);
    const second = await raise('declined', { subjectId: 'pay_7' });
    await raise('something else');

    expect(second).toMatchObject({ created: false, alert: { id: first.alert.id } });
    const result = must(await h.gql(`query($s: String) { alerts(filter: { subjectId: $s }) { totalCount edges { node { ${ALERT_FIELDS} } } } }`, { s: 'pay_7' }));
    expect(result.alerts.totalCount).toBe(1);
    expect(result.alerts.edges[0].node).toMatchObject({ occurrences: 2, firstSeenAt: firstSeen.toISOString(), lastSeenAt: later.toISOString() });
    // The unrelated alert raised afterwards bounds the wait: anything published for the repeat came before it.
    expect((await received(sub, 2)).map((a) => a.title)).toEqual(['declined', 'something else']);
  });

  it('resolves with who, when and a note, and writes an audit entry', async () => {
    const { alert } = await raise('to resolve');
    const at = clock.advance(5_000);
    const resolved = must(await resolve(alert.id, 'refunded by hand')).resolveAlert;

    expect(resolved).toMatchObject({ resolvedBy: 'operator:olga-operator', resolvedAt: at.toISOString(), resolutionNote: 'refunded by hand' });
    const entries = await h.app.services.db.fork().find(AuditEntry, { subjectType: 'alert', subjectId: alert.id });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'operator:olga-operator', action: 'alert.resolve', note: 'refunded by hand', after: { resolvedBy: 'operator:olga-operator' } });
  });

  it('publishes each resolution once to alertResolved, with who resolved it and the note', async () => {
    const resolvedSub = collect(h.wsClient({ token: h.tokens.viewer }), `subscription { alertResolved { id resolvedBy resolutionNote resolvedAt } }`);
    await eventually(async () => {
      const { alert: probe } = await raise(`probe-${++probes}`);
      must(await resolve(probe.id, null));
      return resolvedSub.events.length > 0;
    }, 5000, 100);
    const { alert } = await raise('resolved live');
    must(await resolve(alert.id, 'x'.repeat(1500)));
    must(await resolve(alert.id, 'second time changes nothing'));
    // Events arrive in order: once this one is in, anything the second resolve published would be too.
    const { alert: sentinel } = await raise('sentinel');
    must(await resolve(sentinel.id, null));
    await eventually(async () => resolvedSub.events.some((e) => e.alertResolved.id === sentinel.id));

    const events = resolvedSub.events.map((e) => e.alertResolved).filter((a) => a.id === alert.id);
    expect(events).toEqual([{ id: alert.id, resolvedBy: 'operator:olga-operator', resolutionNote: 'x'.repeat(1000), resolvedAt: clock.now().toISOString() }]);
    const stored = must(await h.gql(`query($id: ID!) { alert(id: $id) { resolutionNote } }`, { id: alert.id }));
    expect(stored.alert.resolutionNote).toHaveLength(1500);
  });

  it('returns the first resolution unchanged when resolved twice', async () => {
    const { alert } = await raise('twice');
    const first = must(await resolve(alert.id, 'first note')).resolveAlert;
    clock.advance(60_000);
    const second = must(await resolve(alert.id, 'second note', h.tokens.admin)).resolveAlert;

    expect(second).toEqual(first);
    expect(await h.app.services.db.fork().count(AuditEntry, { subjectId: alert.id })).toBe(1);
  });

  it('opens a new alert when a resolved fingerprint is raised again', async () => {
    const { alert: old } = await raise('recurring', { subjectId: 'pay_9' });
    must(await resolve(old.id, 'fixed'));
    const again = await raise('recurring', { subjectId: 'pay_9' });

    expect(again.created).toBe(true);
    expect(again.alert.id).not.toBe(old.id);
    expect(again.alert).toMatchObject({ occurrences: 1, resolvedAt: null });
    expect(await titles({ subjectId: 'pay_9', open: true })).toEqual(['recurring']);
    expect(await titles({ subjectId: 'pay_9', open: false })).toEqual(['recurring']);
  });

  it('filters by open, minSeverity and types', async () => {
    await raise('pf-high', { severity: 'HIGH' });
    await raise('pf-low', { severity: 'LOW' });
    await raise('checkout-critical', { severity: 'CRITICAL', type: 'CHECKOUT_FAILED' });
    await raise('gateway-info', { severity: 'INFO', type: 'GATEWAY_EVENT_FAILED' });
    must(await resolve((await raise('job-medium', { severity: 'MEDIUM', type: 'JOB_FAILED' })).alert.id, null));

    expect(await titles({ open: true })).toEqual(['checkout-critical', 'gateway-info', 'pf-high', 'pf-low']);
    expect(await titles({ open: false })).toEqual(['job-medium']);
    expect(await titles({ minSeverity: 'HIGH' })).toEqual(['checkout-critical', 'pf-high']);
    expect(await titles({ types: ['PAYMENT_FAILED'] })).toEqual(['pf-high', 'pf-low']);
    expect(await titles({ open: true, minSeverity: 'MEDIUM', types: ['PAYMENT_FAILED', 'JOB_FAILED'] })).toEqual(['pf-high']);
  });

  async function pages(first: number): Promise<Array<{ titles: string[]; hasNextPage: boolean; totalCount: number }>> {
    const out = [];
    let after: string | null = null;
    do {
      const page: any = must(await h.gql(`query($first: Int!, $after: String) { alerts(first: $first, after: $after) { totalCount edges { node { title } } pageInfo { hasNextPage endCursor } } }`, { first, after })).alerts;
      out.push({ titles: page.edges.map((e: any) => e.node.title), hasNextPage: page.pageInfo.hasNextPage, totalCount: page.totalCount });
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after && out.length < 10);
    return out;
  }

  it('pages through 25 alerts newest first with first/after', async () => {
    for (let i = 0; i < 25; i++) {
      clock.advance(1_000);
      await raise(`a${String(i).padStart(2, '0')}`);
    }
    const result = await pages(10);

    expect(result.map((p) => [p.titles.length, p.hasNextPage, p.totalCount])).toEqual([[10, true, 25], [10, true, 25], [5, false, 25]]);
    const expected = Array.from({ length: 25 }, (_, i) => `a${String(24 - i).padStart(2, '0')}`);
    expect(result.flatMap((p) => p.titles)).toEqual(expected);
  });

  it('pages without gaps or repeats through alerts raised at the same instant', async () => {
    for (let i = 0; i < 5; i++) await raise(`same-${i}`);
    const seen = (await pages(2)).flatMap((p) => p.titles);
    expect([...seen].sort()).toEqual(['same-0', 'same-1', 'same-2', 'same-3', 'same-4']);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['a cursor whose id is not a uuid', Buffer.from('2026-01-15T10:00:00.000Z|nope').toString('base64url')],
  ])('rejects %s as after with BAD_USER_INPUT', async (_name, after) => {
    const result = await h.gql(`query($after: String) { alerts(after: $after) { totalCount } }`, { after });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('summarises open alerts by severity and by type', async () => {
    await raise('s1', { severity: 'HIGH' });
    await raise('s2', { severity: 'HIGH' });
    await raise('s3', { severity: 'CRITICAL', type: 'CHECKOUT_FAILED' });
    must(await resolve((await raise('s4', { severity: 'LOW', type: 'JOB_FAILED' })).alert.id, null));

    const { alertSummary } = must(await h.gql(`{ alertSummary { totalOpen bySeverity { severity count } byType { type count } } }`, {}, { token: h.tokens.viewer }));
    expect(alertSummary).toEqual({
      totalOpen: 3,
      bySeverity: [
        { severity: 'CRITICAL', count: 1 },
        { severity: 'HIGH', count: 2 },
        { severity: 'MEDIUM', count: 0 },
        { severity: 'LOW', count: 0 },
        { severity: 'INFO', count: 0 },
      ],
      byType: [{ type: 'PAYMENT_FAILED', count: 2 }, { type: 'CHECKOUT_FAILED', count: 1 }],
    });
  });

  it.each([UNKNOWN_ID, 'not-a-uuid'])('answers NOT_FOUND when resolving unknown alert %s, and null when reading it', async (id) => {
    expect((await resolve(id, null)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(must(await h.gql(`query($id: ID!) { alert(id: $id) { id } }`, { id })).alert).toBeNull();
  });
});
