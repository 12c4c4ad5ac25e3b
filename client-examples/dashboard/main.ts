/**
 * Recoup's operations dashboard: plain TypeScript, typed by GraphQL Code Generator, built by Vite
 * and served by Recoup at /dashboard/. Everything live arrives over one graphql-ws socket; after
 * the socket (re)connects, every panel is re-read, so nothing missed while it was down stays missed.
 */
import './style.css';
import {
  DashboardAlertRaisedDocument,
  DashboardAlertResolvedDocument,
  DashboardDeliveryChangedDocument,
  DashboardPaymentChangedDocument,
  DashboardVerificationChangedDocument,
  DashboardAlertSummaryDocument,
  DashboardRecoveryStatsDocument,
  DashboardSnapshotDocument,
} from '../gql/graphql';
import { GraphqlRequestError } from '../client';
import { connectApi, type Api, type LiveState } from './api';
import { debounce, el } from './dom';
import { AlertsPanel } from './panels/alerts';
import { AnalyticsPanel } from './panels/analytics';
import { DeliveriesPanel } from './panels/deliveries';
import { INBOX_ALERT_TYPES, InboxPanel } from './panels/inbox';
import { ISSUE_ALERT_TYPES, IssuesPanel } from './panels/issues';
import { PendingPanel } from './panels/pending';
import { SearchPanel } from './panels/search';
import { StatsPanel } from './panels/stats';
import { VerificationPanel } from './panels/verification';
import { clearCredential, credentialOf, loadCredential, saveCredential, takeCredentialFromFragment, type Credential } from './session';
import { Toasts } from './ui';

const ALERTS_SHOWN = 50;
/** Bursts of status events (a bulk recovery, a sweep) become one re-read per panel. */
const REFRESH_DEBOUNCE_MS = 250;

const root = document.getElementById('app')!;

function signIn(message?: string): void {
  const input = el('input', { type: 'password', name: 'credential', autocomplete: 'off', placeholder: 'API key or JWT', 'aria-label': 'API key or JWT', required: true });
  const form = el('form', { class: 'sign-in' },
    el('h1', {}, 'Recoup operations'),
    el('p', {}, 'Paste an API key or a JWT with role VIEWER (read only), OPERATOR or ADMIN. It is kept for this tab only.'),
    message ? el('p', { class: 'error', role: 'alert' }, message) : null,
    input,
    el('button', { type: 'submit', class: 'primary' }, 'Open dashboard'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const credential = credentialOf(input.value);
    if (!credential) return;
    saveCredential(credential);
    open(credential);
  });
  root.replaceChildren(form);
  input.focus();
}

function open(credential: Credential): void {
  const toasts = new Toasts();
  const liveBadge = el('span', { class: 'live-state', 'data-state': 'connecting' }, 'connecting');
  // The socket may report its state before the panels exist; the hoisted functions below cope.
  const api: Api = connectApi(credential, { onState: setLive, onConnected: refreshAll, onError: (error) => toasts.error(error, 'Live updates') });
  const search = new SearchPanel(api, toasts);
  const stats = new StatsPanel();
  const analytics = new AnalyticsPanel(api);
  const alerts = new AlertsPanel(api, toasts);
  const deliveries = new DeliveriesPanel(api, toasts);
  const pending = new PendingPanel(api);
  const issues = new IssuesPanel(api, toasts);
  const inbox = new InboxPanel(api, toasts);
  const verification = new VerificationPanel(api);
  let closed = false;

  function report(what: string) {
    return (error: unknown) => {
      if (error instanceof GraphqlRequestError && error.code === 'UNAUTHENTICATED') return signOut('The server refused this credential. Sign in again.');
      toasts.error(error, what);
    };
  }
  async function refreshSnapshot(): Promise<void> {
    const snapshot = await api.run(DashboardSnapshotDocument, { alertsFirst: ALERTS_SHOWN });
    stats.render(snapshot.recoveryStats);
    alerts.load(snapshot);
  }
  function refreshAll(): void {
    refreshSnapshot().catch(report('Loading the dashboard failed'));
    deliveries.refresh().catch(report('Loading deliveries failed'));
    pending.refresh().catch(report('Loading pending payments failed'));
    issues.refresh().catch(report('Loading payment issues failed'));
    inbox.refresh().catch(report('Loading failed webhook events failed'));
    search.refresh().catch(report('Refreshing the search failed'));
    analytics.refresh().catch(report('Loading the charts failed'));
    verification.refresh().catch(report('Loading customers blocked on verification failed'));
  }
  function setLive(state: LiveState, detail?: string): void {
    liveBadge.dataset.state = state;
    liveBadge.textContent = state;
    if (state === 'refused') signOut(`The server refused this credential${detail ? ` (${detail})` : ''}. Sign in again.`);
  }
  function signOut(message?: string): void {
    if (closed) return;
    closed = true;
    clearCredential();
    void api.dispose();
    signIn(message);
  }

  const refreshAlertCounts = debounce(
    () =>
      api
        .run(DashboardAlertSummaryDocument, {})
        .then(({ alertSummary }) => alerts.setCounts(alertSummary))
        .catch(report('Loading alert counts failed')),
    REFRESH_DEBOUNCE_MS,
  );
  const refreshDeliveries = debounce(() => deliveries.refresh().catch(report('Loading deliveries failed')), REFRESH_DEBOUNCE_MS);
  const refreshPending = debounce(() => pending.refresh().catch(report('Loading pending payments failed')), REFRESH_DEBOUNCE_MS);
  const refreshIssues = debounce(() => issues.refresh().catch(report('Loading payment issues failed')), REFRESH_DEBOUNCE_MS);
  const refreshInbox = debounce(() => inbox.refresh().catch(report('Loading failed webhook events failed')), REFRESH_DEBOUNCE_MS);
  // Paid, refunded, delivered: the day's figures moved (two grouped reads of the daily rollups).
  const refreshAnalytics = debounce(() => analytics.refresh().catch(report('Loading the charts failed')), REFRESH_DEBOUNCE_MS);
  analytics.reportTo(report('Loading the charts failed'));
  const refreshVerification = debounce(() => verification.refresh().catch(report('Loading customers blocked on verification failed')), REFRESH_DEBOUNCE_MS);

  api.subscribe(DashboardAlertRaisedDocument, ({ alertRaised }) => {
    alerts.raised(alertRaised);
    refreshAlertCounts();
    if (ISSUE_ALERT_TYPES.has(alertRaised.type)) refreshIssues();
    if (INBOX_ALERT_TYPES.has(alertRaised.type)) refreshInbox();
  });
  api.subscribe(DashboardAlertResolvedDocument, ({ alertResolved }) => {
    alerts.resolved(alertResolved.id);
    refreshAlertCounts();
    if (ISSUE_ALERT_TYPES.has(alertResolved.type)) refreshIssues();
    if (INBOX_ALERT_TYPES.has(alertResolved.type)) refreshInbox();
  });
  api.subscribe(DashboardRecoveryStatsDocument, ({ recoveryStatsUpdated }) => stats.render(recoveryStatsUpdated));
  api.subscribe(DashboardDeliveryChangedDocument, () => {
    refreshDeliveries();
    refreshAnalytics();
  });
  // A payment that changed may be an event applied at last (by the sweep, a redelivery, a replay elsewhere).
  api.subscribe(DashboardPaymentChangedDocument, ({ paymentStatusChanged }) => {
    search.paymentChanged(paymentStatusChanged.paymentId);
    refreshPending();
    refreshIssues();
    refreshInbox();
    refreshAnalytics();
    refreshVerification();
  });
  // A checkout refused, a session opened, a verdict (provider or override): the blocked list moves.
  api.subscribe(DashboardVerificationChangedDocument, () => refreshVerification());

  root.replaceChildren(
    el('header', {},
      el('h1', {}, 'Recoup operations'),
      liveBadge,
      el('button', { type: 'button', class: 'link', onclick: () => signOut() }, 'Sign out')),
    el('main', {},
      search.element,
      stats.element,
      analytics.element,
      el('div', { class: 'columns' }, alerts.element, deliveries.element),
      el('div', { class: 'columns wide-left' }, issues.element, pending.element),
      inbox.element,
      verification.element),
    toasts.element,
  );
}

takeCredentialFromFragment();
const credential = loadCredential();
if (credential) open(credential);
else signIn();
