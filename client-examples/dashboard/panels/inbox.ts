import type { DashboardInboundEventFragment } from '../../gql/graphql';
import { DashboardFailedInboundEventsDocument, DashboardReplayInboundEventDocument } from '../../gql/graphql';
import type { Api } from '../api';
import { ago, el, replaceChildren } from '../dom';
import { actionButton, panel, table, type Toasts } from '../ui';

/** One node is a dozen fields: 25 of them stay well under the server's query complexity limit (1,000). */
const SHOWN = 25;

const NEXT_TRY = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Raised when the inbox gives up on an event, resolved when it is applied after all: either re-reads this panel. */
export const INBOX_ALERT_TYPES = new Set(['GATEWAY_EVENT_FAILED']);

/**
 * Webhook events the inbox could not apply: given up, or waiting for their next attempt. Replay
 * (ADMIN) applies one again now, through the same rules as the retry sweep; the answer says whether
 * it went through this time. The event's payload is not shown: it may hold personal data.
 */
export class InboxPanel {
  private readonly body = el('div');
  private readonly reload = actionButton('Refresh', () => this.refresh().catch((error: unknown) => this.toasts.error(error, 'Loading failed events failed')), { 'data-action': 'refresh-inbox' });
  readonly element = panel('Failed webhook events', 'inbox', el('div', { class: 'toolbar' }, this.reload), this.body);

  constructor(
    private readonly api: Api,
    private readonly toasts: Toasts,
  ) {}

  async refresh(): Promise<void> {
    const { inboundEvents } = await this.api.run(DashboardFailedInboundEventsDocument, { first: SHOWN });
    this.render(inboundEvents.edges.map((e) => e.node), inboundEvents.totalCount);
  }

  private async replay(event: DashboardInboundEventFragment): Promise<void> {
    const label = `${event.type} ${event.eventId}`;
    try {
      const { replayInboundEvent: after } = await this.api.run(DashboardReplayInboundEventDocument, { id: event.id });
      if (after.appliedAt) this.toasts.info(`Replayed ${label}: ${after.outcome ?? 'applied'}`);
      else this.toasts.error(after.lastError ?? 'not applied yet', `Replay of ${label}`);
    } catch (error) {
      this.toasts.error(error, `Replay of ${label} failed`);
    }
    await this.refresh();
  }

  private render(events: DashboardInboundEventFragment[], totalCount: number): void {
    const rows = events.map((event) =>
      el('tr', { 'data-event-id': event.id },
        el('td', {}, el('span', { class: 'badge' }, event.source.toLowerCase())),
        el('td', {}, el('code', {}, event.type)),
        el('td', {}, el('code', { title: event.eventId }, event.eventId)),
        el('td', { class: 'num' }, event.attempts),
        el('td', { class: 'reason' }, event.lastError ?? ''),
        el('td', {}, event.gaveUp ? el('span', { class: 'badge delivery-failed' }, 'gave up') : `next try ${event.nextAttemptAt ? NEXT_TRY.format(new Date(event.nextAttemptAt)) : 'soon'}`),
        el('td', {}, ago(event.receivedAt)),
        el('td', {}, actionButton('Replay', () => this.replay(event), { 'aria-label': `Replay event ${event.eventId}` }))),
    );
    replaceChildren(this.body, [
      table(['Source', 'Type', 'Event', 'Attempts', 'Last error', 'State', 'Received', ''], rows, 'No failed webhook events.'),
      totalCount > events.length ? el('p', { class: 'more' }, `Showing the newest ${events.length} of ${totalCount}.`) : null,
    ]);
  }
}
