import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DashboardAnalyticsQuery } from '../../gql/graphql';
import { DashboardAnalyticsDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { el, money } from '../dom';
import { panel } from '../ui';

const DAYS = 30;
const DAY_MS = 86_400_000;
const HEIGHT = 200;
/** Canvas strokes cannot take CSS variables: style.css's --accent, --good and --bad. */
const COLORS = { net: '#2f5bea', netFill: 'rgba(47, 91, 234, 0.12)', delivered: '#1b8a4c', failed: '#c62a2a' };

/** The last 30 UTC days, today included: [midnight 29 days ago, tomorrow's midnight). */
export function lastDays(now = Date.now()): { from: string; to: string } {
  const to = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  return { from: new Date(to - DAYS * DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

/** Minor units in one unit of the currency (100 for usd, 1 for jpy), as money() formats them. */
function minorPerUnit(currency: string): number {
  try {
    return 10 ** (new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 2);
  } catch {
    return 100;
  }
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const sum = (values: number[]) => values.reduce((total, v) => total + v, 0);
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
/** Whole counts on a count axis. */
const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];
/** Day labels in UTC, as the buckets are. */
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

/**
 * Net revenue and deliveries per UTC day over the last 30 days, drawn with uPlot (about 50 KB):
 * revenueSeries and deliverySeries, re-read when payments or deliveries change. Each chart carries
 * its figures as data attributes (points, sum and last value) beside the drawn canvas.
 */
export class AnalyticsPanel {
  private currency = 'usd';
  private readonly currencySelect = el('select', { 'aria-label': 'Currency', onchange: () => this.changeCurrency() }, el('option', { value: 'usd' }, 'USD'));
  private readonly revenueSummary = el('p', { class: 'summary', 'data-summary': 'revenue' });
  private readonly deliverySummary = el('p', { class: 'summary', 'data-summary': 'deliveries' });
  private readonly revenueBox = el('div', { class: 'chart', 'data-chart': 'revenue', role: 'img', 'aria-label': `Net revenue per day, last ${DAYS} days` });
  private readonly deliveryBox = el('div', { class: 'chart', 'data-chart': 'deliveries', role: 'img', 'aria-label': `Deliveries per day, last ${DAYS} days` });
  private revenuePlot: uPlot | null = null;
  private deliveryPlot: uPlot | null = null;
  private onError: (error: unknown) => void = () => undefined;
  readonly element = panel(
    `Last ${DAYS} days`,
    'analytics',
    el('div', { class: 'toolbar' }, this.currencySelect),
    el('div', { class: 'charts' },
      el('figure', {}, el('figcaption', {}, 'Net revenue per day (gross − refunds)'), this.revenueSummary, this.revenueBox),
      el('figure', {}, el('figcaption', {}, 'Deliveries per day'), this.deliverySummary, this.deliveryBox)),
  );

  constructor(private readonly api: Api) {
    new ResizeObserver(() => this.resize()).observe(this.element);
  }

  /** Where a refresh started by the currency picker reports a failure. */
  reportTo(onError: (error: unknown) => void): void {
    this.onError = onError;
  }

  async refresh(): Promise<void> {
    let data = await this.api.run(DashboardAnalyticsDocument, { ...lastDays(), currency: this.currency });
    const currencies = [...new Set(data.plans.edges.map((e) => e.node.currency.toLowerCase()))].sort();
    // Nothing is sold in the currency shown (the default, before any plan): show one that is.
    if (currencies.length > 0 && !currencies.includes(this.currency)) {
      this.currency = currencies[0];
      data = await this.api.run(DashboardAnalyticsDocument, { ...lastDays(), currency: this.currency });
    }
    this.currencySelect.replaceChildren(...(currencies.length > 0 ? currencies : [this.currency]).map((c) => el('option', { value: c, selected: c === this.currency }, c.toUpperCase())));
    this.renderRevenue(data.revenueSeries);
    this.renderDeliveries(data.deliverySeries);
  }

  private changeCurrency(): void {
    this.currency = this.currencySelect.value;
    this.refresh().catch(this.onError);
  }

  private renderRevenue(points: DashboardAnalyticsQuery['revenueSeries']): void {
    const currency = this.currency;
    const unit = minorPerUnit(currency);
    const net = points.map((p) => p.netMinor);
    const total = sum(net);
    Object.assign(this.revenueBox.dataset, { points: String(points.length), sumMinor: String(total), lastMinor: String(net.at(-1) ?? 0), currency });
    this.revenueSummary.textContent = `Net ${money(total, currency)} · gross ${money(sum(points.map((p) => p.grossMinor)), currency)} · refunded ${money(sum(points.map((p) => p.refundedMinor)), currency)} · ${plural(sum(points.map((p) => p.payments)), 'payment')}`;
    const data: uPlot.AlignedData = [points.map((p) => seconds(p.bucketStart)), net.map((v) => v / unit)];
    if (this.revenuePlot) {
      this.revenuePlot.setData(data);
      return;
    }
    this.revenuePlot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        tzDate: utc,
        series: [{}, { label: 'Net', stroke: COLORS.net, fill: COLORS.netFill, width: 2, value: (_u, v) => (v === null ? '–' : money(Math.round(v * unit), this.currency)) }],
        axes: [{}, { size: 80, values: (_u, splits) => splits.map((v) => money(Math.round(v * minorPerUnit(this.currency)), this.currency)) }],
      },
      data,
      this.revenueBox,
    );
  }

  private renderDeliveries(points: DashboardAnalyticsQuery['deliverySeries']): void {
    const delivered = points.map((p) => p.delivered);
    const failed = points.map((p) => p.failed);
    const today = points.at(-1);
    Object.assign(this.deliveryBox.dataset, { points: String(points.length), sumDelivered: String(sum(delivered)), sumFailed: String(sum(failed)), lastDelivered: String(delivered.at(-1) ?? 0) });
    const p95 = today?.p95Seconds;
    this.deliverySummary.textContent = `${sum(delivered)} delivered (${sum(points.map((p) => p.recovered))} recovered) · ${sum(failed)} failed · p95 to delivery today ${p95 === null || p95 === undefined ? '–' : `${p95.toFixed(1)} s`}`;
    const data: uPlot.AlignedData = [points.map((p) => seconds(p.bucketStart)), delivered, failed];
    if (this.deliveryPlot) {
      this.deliveryPlot.setData(data);
      return;
    }
    const bars = uPlot.paths.bars?.({ size: [0.6, 24] });
    this.deliveryPlot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        tzDate: utc,
        series: [{}, { label: 'Delivered', stroke: COLORS.delivered, fill: COLORS.delivered, paths: bars, points: { show: false } }, { label: 'Failed', stroke: COLORS.failed, fill: COLORS.failed, paths: bars, points: { show: false } }],
        axes: [{}, { size: 50, incrs: COUNT_INCRS }],
      },
      data,
      this.deliveryBox,
    );
  }

  /** Each chart fills its column: the figure's width, or a default before it is laid out. */
  private width(): number {
    return Math.max(280, this.revenueBox.clientWidth || 560);
  }

  private resize(): void {
    for (const [plot, box] of [[this.revenuePlot, this.revenueBox], [this.deliveryPlot, this.deliveryBox]] as const) {
      if (plot && box.clientWidth > 0 && Math.abs(plot.width - box.clientWidth) > 1) plot.setSize({ width: box.clientWidth, height: HEIGHT });
    }
  }
}
