import type { DashboardFailedDeliveriesQuery, UndeliveredStatus } from '../../gql/graphql';
import { DashboardFailedDeliveriesDocument, DashboardRecoverPaymentDocument, DashboardRecoverPaymentsDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { ago, el, money, replaceChildren, shortId } from '../dom';
import { actionButton, panel, table, type Toasts } from '../ui';

type Row = DashboardFailedDeliveriesQuery['failedDeliveries']['edges'][number]['node'];

const PAGE = 50;
/** recoverPayments takes at most 100 ids per call. */
const MAX_BULK = 100;
const STATUSES: UndeliveredStatus[] = ['FAILED', 'AWAITING_CUSTOMER', 'PENDING', 'IN_PROGRESS'];

/** Paid payments whose invite links have not gone out, with Recover per row and for a selection. */
export class DeliveriesPanel {
  private status: UndeliveredStatus = 'FAILED';
  private rows: Row[] = [];
  private totalCount = 0;
  private readonly selected = new Set<string>();
  private readonly statusSelect = el('select', { 'aria-label': 'Delivery status', onchange: () => this.changeStatus() }, ...STATUSES.map((s) => el('option', { value: s }, s)));
  private readonly bulk = actionButton('Recover selected', () => this.recoverSelected(), { class: 'primary', 'data-action': 'recover-selected' });
  private readonly body = el('div');
  readonly element = panel('Undelivered payments', 'deliveries', el('div', { class: 'toolbar' }, this.statusSelect, this.bulk), this.body);

  constructor(
    private readonly api: Api,
    private readonly toasts: Toasts,
  ) {}

  async refresh(): Promise<void> {
    const { failedDeliveries } = await this.api.run(DashboardFailedDeliveriesDocument, { first: PAGE, status: this.status });
    this.rows = failedDeliveries.edges.map((e) => e.node);
    this.totalCount = failedDeliveries.totalCount;
    const present = new Set(this.rows.map((r) => r.id));
    for (const id of this.selected) if (!present.has(id)) this.selected.delete(id);
    this.render();
  }

  private changeStatus(): void {
    this.status = this.statusSelect.value as UndeliveredStatus;
    this.selected.clear();
    this.refresh().catch((error: unknown) => this.toasts.error(error, 'Loading deliveries failed'));
  }

  private async recoverOne(row: Row): Promise<void> {
    try {
      const { recoverPayment: outcome } = await this.api.run(DashboardRecoverPaymentDocument, { paymentId: row.id });
      if (outcome.status === 'DELIVERED') this.toasts.info(`Delivered ${shortId(row.id)} after ${outcome.attempts} attempt(s)`);
      else this.toasts.error(`${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`, `Recovery of ${shortId(row.id)}`);
    } catch (error) {
      this.toasts.error(error, `Recovery of ${shortId(row.id)} failed`);
    }
    await this.refresh();
  }

  private async recoverSelected(): Promise<void> {
    const ids = [...this.selected].slice(0, MAX_BULK);
    if (ids.length === 0) return this.toasts.info('Select payments to recover first.');
    try {
      const { recoverPayments: results } = await this.api.run(DashboardRecoverPaymentsDocument, { paymentIds: ids });
      const delivered = results.filter((r) => r.ok && r.status === 'DELIVERED').length;
      this.toasts.info(`Recovered ${delivered} of ${results.length}`);
      for (const r of results.filter((r) => !r.ok)) this.toasts.error(`${r.errorCode ?? 'ERROR'}: ${r.message ?? ''}`, `Recovery of ${shortId(r.paymentId)}`);
    } catch (error) {
      this.toasts.error(error, 'Bulk recovery failed');
    }
    this.selected.clear();
    await this.refresh();
  }

  private render(): void {
    this.bulk.textContent = `Recover selected (${this.selected.size})`;
    const rows = this.rows.map((row) => {
      const box = el('input', { type: 'checkbox', 'aria-label': `Select payment ${row.id}` });
      box.checked = this.selected.has(row.id);
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(row.id);
        else this.selected.delete(row.id);
        this.bulk.textContent = `Recover selected (${this.selected.size})`;
      });
      return el('tr', { 'data-payment-id': row.id },
        el('td', {}, box),
        el('td', {}, el('code', { title: row.id }, shortId(row.id))),
        el('td', {}, money(row.amountMinor, row.currency)),
        el('td', {}, el('span', { class: `badge delivery-${(row.deliveryStatus ?? '').toLowerCase()}` }, row.deliveryStatus ?? '–')),
        el('td', { class: 'num' }, row.deliveryAttempts),
        el('td', { class: 'reason' }, row.deliveryFailureReason ?? ''),
        el('td', {}, ago(row.paidAt)),
        el('td', {}, actionButton('Recover', () => this.recoverOne(row), { 'aria-label': `Recover payment ${row.id}` })));
    });
    replaceChildren(this.body, [
      table(['', 'Payment', 'Amount', 'Delivery', 'Attempts', 'Last failure', 'Paid', ''], rows, `No ${this.status.toLowerCase().replace('_', ' ')} deliveries.`),
      this.totalCount > this.rows.length ? el('p', { class: 'more' }, `Showing ${this.rows.length} of ${this.totalCount}.`) : null,
    ]);
  }
}
