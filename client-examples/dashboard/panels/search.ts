import type { DashboardFoundPaymentFragment, DashboardPaymentHistoryQuery } from '../../gql/graphql';
import { DashboardPaymentByIdDocument, DashboardPaymentHistoryDocument, DashboardPaymentsByGatewayIdDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { ago, el, money, replaceChildren, shortId } from '../dom';
import { actionButton, panel, table, type Toasts } from '../ui';

type Found = DashboardFoundPaymentFragment;
type HistoryEntry = DashboardPaymentHistoryQuery['auditTrail']['edges'][number]['node'];

/** A Stripe id names one payment or a few (a customer's retries share nothing, so rarely more than one). */
const RESULTS_SHOWN = 10;
const HISTORY_SHOWN = 50;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The Stripe objects payments(filter: {gatewayId}) can trace to a payment: intent, session, charge, refund, dispute. */
const STRIPE_ID = /^(pi|cs|ch|py|re|pyr|dp|du)_[A-Za-z0-9_]+$/;

const HINT = 'Paste a payment id, or a Stripe id of the payment: its intent (pi_), Checkout Session (cs_), charge (ch_, py_), refund (re_) or dispute (dp_, du_).';

const WHEN = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const when = (iso: string): string => WHEN.format(new Date(iso));

export type SearchQuery = { kind: 'payment'; id: string } | { kind: 'stripe'; id: string };

/** What the operator typed, as something to look up; null when it is neither kind of id. */
export function searchQueryOf(text: string): SearchQuery | null {
  const id = text.trim();
  if (UUID.test(id)) return { kind: 'payment', id: id.toLowerCase() };
  if (STRIPE_ID.test(id)) return { kind: 'stripe', id };
  return null;
}

/**
 * The search box at the top: one payment by our id, or the payments a Stripe id copied from
 * Stripe's dashboard belongs to, each with its Stripe ids and, on demand, its history from the
 * audit trail. A shown payment whose status changes is looked up again.
 */
export class SearchPanel {
  private readonly input = el('input', {
    type: 'search',
    name: 'q',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'Payment id, or Stripe id: pi_…, cs_…, ch_…, re_…, dp_…',
    'aria-label': 'Payment or Stripe id',
  });
  private readonly button = el('button', { type: 'submit', class: 'primary' }, 'Search');
  private readonly body = el('div', { class: 'search-results', 'aria-live': 'polite' });
  readonly element = panel(
    'Find a payment',
    'search',
    el('form', { class: 'toolbar search-form', role: 'search', onsubmit: (event) => this.submit(event) }, this.input, this.button),
    this.body,
  );

  private query: SearchQuery | null = null;
  private shown: Found[] = [];
  private total = 0;
  /** Payments whose detail is open, kept open when the results are read again, and their history. */
  private readonly open = new Map<string, HistoryEntry[] | Error>();
  /** Each lookup's number; only the latest one may render, whichever answer arrives last. */
  private generation = 0;

  constructor(
    private readonly api: Api,
    private readonly toasts: Toasts,
  ) {}

  /** A payment changed somewhere: if it is among the results, show it as it is now. */
  paymentChanged(paymentId: string): void {
    if (!this.query || !this.shown.some((p) => p.id === paymentId)) return;
    this.run(this.query).catch((error: unknown) => this.toasts.error(error, 'Refreshing the search failed'));
  }

  /** After a reconnect: whatever is shown may have changed meanwhile. */
  refresh(): Promise<void> {
    return this.query ? this.run(this.query) : Promise.resolve();
  }

  private submit(event: Event): void {
    event.preventDefault();
    const text = this.input.value.trim();
    const query = searchQueryOf(text);
    if (!query) {
      // Nothing to look up: no request, just what the box takes.
      this.generation++;
      this.query = null;
      this.shown = [];
      this.open.clear();
      if (text === '') this.input.value = '';
      replaceChildren(this.body, [el('p', { class: 'hint', role: 'note' }, text ? `“${text}” is not a payment id or a Stripe id. ${HINT}` : HINT)]);
      this.input.focus();
      return;
    }
    this.input.value = text;
    this.open.clear();
    this.button.disabled = true;
    this.button.setAttribute('aria-busy', 'true');
    this.run(query)
      .catch((error: unknown) => this.toasts.error(error, 'Search failed'))
      .finally(() => {
        this.button.disabled = false;
        this.button.removeAttribute('aria-busy');
      });
  }

  private async run(query: SearchQuery): Promise<void> {
    const generation = ++this.generation;
    this.query = query;
    let found: Found[];
    let total: number;
    if (query.kind === 'payment') {
      const { payment } = await this.api.run(DashboardPaymentByIdDocument, { id: query.id });
      found = payment ? [payment] : [];
      total = found.length;
    } else {
      const { payments } = await this.api.run(DashboardPaymentsByGatewayIdDocument, { gatewayId: query.id, first: RESULTS_SHOWN });
      found = payments.edges.map((e) => e.node);
      total = payments.totalCount;
    }
    // An open detail is read again with its payment: the change that brought us here is in it.
    const open = found.filter((p) => this.open.has(p.id));
    const histories = await Promise.all(open.map((p) => this.history(p.id)));
    if (generation !== this.generation) return;
    this.shown = found;
    this.total = total;
    this.open.clear();
    open.forEach((p, i) => this.open.set(p.id, histories[i]));
    this.render();
  }

  private async history(paymentId: string): Promise<HistoryEntry[] | Error> {
    try {
      const { auditTrail } = await this.api.run(DashboardPaymentHistoryDocument, { paymentId, first: HISTORY_SHOWN });
      return auditTrail.edges.map((e) => e.node);
    } catch (error) {
      this.toasts.error(error, `Loading the history of ${shortId(paymentId)} failed`);
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async toggle(paymentId: string): Promise<void> {
    if (this.open.has(paymentId)) {
      this.open.delete(paymentId);
      return this.render();
    }
    const generation = this.generation;
    const history = await this.history(paymentId);
    if (generation !== this.generation || !this.shown.some((p) => p.id === paymentId)) return;
    this.open.set(paymentId, history);
    this.render();
  }

  private render(): void {
    const query = this.query;
    if (!query) return;
    if (this.shown.length === 0) {
      replaceChildren(this.body, [el('p', { class: 'empty', 'data-search-result': 'none' }, 'No payment has this id ', el('code', {}, query.id), '.')]);
      return;
    }
    const rows = this.shown.flatMap((payment) => {
      const isOpen = this.open.has(payment.id);
      const details = actionButton(isOpen ? 'Hide' : 'Details', () => this.toggle(payment.id), {
        'aria-expanded': String(isOpen),
        'aria-label': `${isOpen ? 'Hide' : 'Show'} details of payment ${payment.id}`,
      });
      const row = el('tr', { 'data-payment-id': payment.id },
        el('td', {}, el('code', { title: payment.id }, shortId(payment.id))),
        el('td', {}, el('span', { class: 'badge', 'data-status': payment.status }, payment.status)),
        el('td', {}, money(payment.amountMinor, payment.currency), payment.refundedMinor > 0 ? el('div', { class: 'muted' }, `${money(payment.refundedMinor, payment.currency)} refunded`) : null),
        el('td', { title: payment.customerId }, payment.customer.name ?? payment.customer.email ?? shortId(payment.customerId)),
        el('td', { title: when(payment.createdAt) }, ago(payment.createdAt)),
        el('td', { class: 'stripe-ids' }, ...stripeIds(payment)),
        el('td', {}, details));
      if (!isOpen) return [row];
      return [row, el('tr', { class: 'detail', 'data-detail-for': payment.id }, el('td', { colspan: 7 }, detailOf(payment, this.open.get(payment.id))))];
    });
    replaceChildren(this.body, [
      el('p', { class: 'summary' }, query.kind === 'payment' ? 'Payment ' : 'Stripe id ', el('code', {}, query.id), this.total === 1 ? '' : `: ${this.total} payments`),
      table(['Payment', 'Status', 'Amount', 'Customer', 'Created', 'Stripe ids', ''], rows, ''),
      this.total > this.shown.length ? el('p', { class: 'more' }, `Showing ${this.shown.length} of ${this.total}.`) : null,
    ]);
  }
}

function stripeIds(payment: Found): HTMLElement[] {
  const ids: Array<[string, string | null]> = [
    ['intent', payment.stripePaymentIntentId],
    ['session', payment.stripeCheckoutSessionId],
    ...payment.refunds.map((r): [string, string | null] => ['refund', r.stripeRefundId]),
  ];
  const present = ids.filter((entry): entry is [string, string] => Boolean(entry[1]));
  if (present.length === 0) return [el('span', { class: 'muted' }, '–')];
  return present.map(([label, id]) => el('div', {}, el('span', { class: 'muted' }, `${label} `), el('code', {}, id)));
}

function detailOf(payment: Found, history: HistoryEntry[] | Error | undefined): HTMLElement {
  const facts = el('p', { class: 'summary' },
    `Payment `, el('code', {}, payment.id), ` · created ${when(payment.createdAt)}`,
    payment.paidAt ? ` · paid ${when(payment.paidAt)}` : '',
    ` · customer `, el('code', {}, payment.customerId), payment.customer.email ? ` (${payment.customer.email})` : '');
  if (history instanceof Error || history === undefined) return el('div', { class: 'payment-detail' }, facts, el('p', { class: 'empty' }, 'History unavailable.'));
  const rows = history.map((entry) =>
    el('tr', { 'data-audit-id': entry.id },
      el('td', {}, when(entry.at)),
      el('td', {}, entry.action),
      el('td', {}, changeOf(entry)),
      el('td', {}, el('code', {}, entry.actor)),
      el('td', { class: 'reason' }, entry.note ?? '')));
  return el('div', { class: 'payment-detail' }, facts, el('h3', {}, 'History'), table(['When', 'What', 'Change', 'By', 'Note'], rows, 'No history recorded.'));
}

/** A status transition as "PENDING → SUCCEEDED"; anything else as the fields it wrote. */
function changeOf(entry: HistoryEntry): string {
  const before = record(entry.before);
  const after = record(entry.after);
  if (typeof after.status === 'string' && after.status !== before.status) return `${typeof before.status === 'string' ? before.status : '–'} → ${after.status}`;
  const text = Object.entries(after)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
