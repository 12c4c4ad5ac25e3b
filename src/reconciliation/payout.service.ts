import { LockMode } from '@mikro-orm/core';
import type { AlertService } from '../alerts/alert.service';
import { AlertSeverity, AlertType } from '../alerts/alert.types';
import type { Tx } from '../platform/database/transaction';
import type { GatewayPayout } from '../integrations/stripe/payment-gateway';
import { Payout } from './payout.entity';
import { PaymentGatewayName } from '../catalog/plan.entity';

/**
 * How far along a payout is. A payout can fail after it was paid (the bank returns it days
 * later), so failed ranks above paid. https://docs.stripe.com/payouts#payout-failures
 */
const RANK: Record<string, number> = { pending: 0, in_transit: 1, paid: 2, canceled: 3, failed: 3 };

const ALERTS: Partial<Record<string, { type: AlertType; severity: AlertSeverity; title: string }>> = {
  failed: { type: AlertType.FAILED_PAYOUT, severity: AlertSeverity.HIGH, title: 'Payout failed' },
  canceled: { type: AlertType.PAYOUT_CANCELED, severity: AlertSeverity.MEDIUM, title: 'Payout canceled' },
};

export interface PayoutChange {
  payout: Payout;
  /** null: we had not seen this payout before. */
  previousStatus: string | null;
  changed: boolean;
  alert: { id: string; created: boolean } | null;
}

/**
 * Our copy of Stripe's payouts, fed by payout webhooks and by the nightly reconciliation. A
 * payout reaching failed or canceled raises its alert once, when we first learn of it; the
 * fingerprint (type:payout:<po_…>) is the same from either source, so a webhook and a later
 * reconciliation make one alert between them.
 */
export class PayoutService {
  constructor(private readonly alerts: AlertService) {}

  /**
   * `authoritative`: the payout was just listed from Stripe (current truth). A webhook's snapshot
   * may be older than what we have, so it only moves a payout forward.
   */
  async record(tx: Tx, seen: GatewayPayout, authoritative: boolean, gateway = PaymentGatewayName.STRIPE): Promise<PayoutChange> {
    const now = tx.clock.now();
    const existing = await tx.em.findOne(Payout, { stripePayoutId: seen.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const previousStatus = existing?.status ?? null;
    const forward = previousStatus === null || authoritative || (RANK[seen.status] ?? 0) >= (RANK[previousStatus] ?? 0);
    const payout = existing ?? tx.em.create(Payout, { stripePayoutId: seen.id, gateway, amountMinor: seen.amountMinor, currency: seen.currency, status: seen.status, arrivalDate: seen.arrivalDate, stripeCreatedAt: seen.created, lastSeenAt: now });
    payout.lastSeenAt = now;
    const changed = forward && previousStatus !== seen.status;
    if (forward) {
      Object.assign(payout, { amountMinor: seen.amountMinor, currency: seen.currency, status: seen.status, failureCode: seen.failureCode, failureMessage: seen.failureMessage, arrivalDate: seen.arrivalDate });
    }
    tx.em.persist(payout);
    const alert = changed ? await this.raise(tx, payout) : null;
    return { payout, previousStatus, changed: changed && previousStatus !== null, alert };
  }

  /** The webhook path: `payout.*` events. */
  async applyEvent(tx: Tx, seen: GatewayPayout, eventType: string): Promise<string> {
    const { previousStatus, changed, alert } = await this.record(tx, seen, false);
    const status = previousStatus === null ? `recorded ${seen.status}` : changed ? `${previousStatus} -> ${seen.status}` : `no change: ${previousStatus}`;
    return `${eventType}: payout ${seen.id} ${status}${alert?.created ? ', alert raised' : ''}`;
  }

  private async raise(tx: Tx, payout: Payout): Promise<{ id: string; created: boolean } | null> {
    const alert = ALERTS[payout.status];
    if (!alert) return null;
    const amount = `${payout.amountMinor} ${payout.currency.toUpperCase()}`;
    const failure = payout.failureCode ? `: ${payout.failureCode} — ${payout.failureMessage ?? 'no message'}` : '';
    const cashfree = payout.gateway === PaymentGatewayName.CASHFREE;
    const { alert: raised, created } = await this.alerts.raise(tx, {
      ...alert,
      title: cashfree ? `Cashfree settlement ${payout.status}: ${amount}` : `${alert.title}: ${amount}`,
      detail: `${cashfree ? 'Cashfree settlement' : 'Payout'} ${payout.stripePayoutId} of ${amount} (arrival ${payout.arrivalDate.toISOString().slice(0, 10)}) is ${payout.status}${failure}.`,
      subjectType: 'payout',
      subjectId: payout.stripePayoutId,
    });
    return { id: raised.id, created };
  }
}
