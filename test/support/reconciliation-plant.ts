import { randomUUID } from 'node:crypto';
import { FindingType } from '../../src/reconciliation/reconciliation-finding.entity';
import { DAY, HOUR, type ReconciliationScenario } from './reconciliation-seed';

export interface Planted {
  type: FindingType;
  subjectId: string;
  variant: string;
}

const ago = (now: Date, ms: number): Date => new Date(now.getTime() - ms);

/**
 * A clean population of `count` payments in every state, each agreeing with Stripe, with active
 * subscriptions for some, clean payouts and Stripe objects that are not ours but hold no money.
 * Answers the ids of some SUCCEEDED payments (for planting a second intent against one).
 */
export function addCleanPopulation(s: ReconciliationScenario, now: Date, count: number): string[] {
  const succeeded: string[] = [];
  for (let i = 0; i < count; i++) {
    const createdAt = ago(now, 2 * HOUR + ((i * 7919) % (27 * 24)) * HOUR);
    const slot = i % 100;
    if (slot < 80) {
      const refunded = i % 20 === 0 ? 500 : 0;
      const p = s.payment({ status: 'SUCCEEDED', createdAt, refundedMinor: refunded, deliveryStatus: 'DELIVERED', intent: { status: 'succeeded', refunded } });
      succeeded.push(p.id);
      if (i % 10 === 1) s.subscription(p.customerId, p.bundleId, p.id, now);
    } else if (slot < 83) s.payment({ status: 'REFUNDED', createdAt, refundedMinor: 2500, intent: { status: 'succeeded', refunded: 2500 } });
    else if (slot < 88) s.payment({ status: 'PENDING', createdAt, intent: slot % 2 ? { status: 'requires_payment_method' } : null });
    else if (slot < 91) s.payment({ status: 'CANCELLED', createdAt, intent: { status: 'canceled' } });
    else if (slot < 94) s.payment({ status: 'FAILED', createdAt, intent: { status: 'requires_payment_method' } });
    else if (slot < 96) s.payment({ status: 'EXPIRED', createdAt, intent: null });
    else {
      const authorizedAt = ago(now, (1 + (i % 40)) * HOUR);
      s.payment({ status: 'AUTHORIZED', manual: true, createdAt: ago(authorizedAt, 5 * 60_000), authorizedAt, deliveryStatus: i % 2 ? 'DELIVERED' : 'AWAITING_CUSTOMER', intent: { status: 'requires_capture', created: authorizedAt } });
    }
    // Stripe objects that are not ours but hold no money: never findings.
    if (i % 500 === 7) s.stripe.intent({ status: 'requires_payment_method', metadataPaymentId: null, created: createdAt }, null);
    if (i % 700 === 9) s.stripe.intent({ status: 'succeeded', refunded: 2500, metadataPaymentId: null, created: createdAt }, null);
  }
  return succeeded;
}

const OUT_OF_SYNC = [
  { variant: 'ours PENDING, Stripe succeeded', status: 'PENDING', intent: { status: 'succeeded' as const } },
  { variant: 'ours SUCCEEDED, Stripe canceled', status: 'SUCCEEDED', intent: { status: 'canceled' as const } },
  { variant: 'ours AUTHORIZED, Stripe succeeded', status: 'AUTHORIZED', manual: true, intent: { status: 'succeeded' as const } },
  { variant: 'refund missing from our record', status: 'SUCCEEDED', intent: { status: 'succeeded' as const, refunded: 1000 } },
  { variant: 'ours SUCCEEDED, Stripe never paid', status: 'SUCCEEDED', intent: { status: 'requires_payment_method' as const } },
];

/** `perType` discrepancies of each kind that lives in our rows and Stripe's intents. */
export function plantDiscrepancies(s: ReconciliationScenario, now: Date, perType: number, succeeded: string[]): Planted[] {
  const planted: Planted[] = [];
  const createdAt = (k: number) => ago(now, DAY + k * 37 * 60_000);
  for (let k = 0; k < perType; k++) {
    const o = OUT_OF_SYNC[k % OUT_OF_SYNC.length];
    const authorizedAt = o.manual ? createdAt(k) : null;
    planted.push({ type: FindingType.PAYMENT_OUT_OF_SYNC, variant: o.variant, subjectId: s.payment({ status: o.status, manual: o.manual, createdAt: createdAt(k), authorizedAt, intent: o.intent }).id });

    const fulfilled = k % 2 === 1;
    const stuckAt = fulfilled ? ago(now, 6 * DAY + 6 * HOUR) : ago(now, 30 * HOUR);
    const stuck = s.payment({ status: 'AUTHORIZED', manual: true, createdAt: stuckAt, authorizedAt: stuckAt, deliveryStatus: fulfilled ? 'DELIVERED' : 'AWAITING_CUSTOMER', intent: { status: 'requires_capture', created: stuckAt, captureBefore: fulfilled ? undefined : new Date(now.getTime() + 10 * HOUR) } });
    planted.push({ type: FindingType.STUCK_AUTHORIZATION, variant: fulfilled ? 'delivered, capture never happened' : 'short capture_before', subjectId: stuck.id });

    const noShowAt = ago(now, 80 * HOUR + k * HOUR);
    const noShow = s.payment({ status: 'AUTHORIZED', manual: true, createdAt: noShowAt, authorizedAt: noShowAt, deliveryStatus: k % 2 ? 'FAILED' : 'AWAITING_CUSTOMER', intent: { status: 'requires_capture', created: noShowAt } });
    planted.push({ type: FindingType.NO_SHOW_AUTO_RELEASED, variant: 'never delivered', subjectId: noShow.id });

    const metadata = [null, randomUUID(), succeeded[k % succeeded.length]][k % 3];
    const orphan = s.stripe.intent({ status: 'succeeded', metadataPaymentId: metadata, created: createdAt(k) }, null);
    planted.push({ type: FindingType.UNKNOWN_GATEWAY_PAYMENT, variant: ['no metadata', 'metadata names nothing', 'second intent for a paid payment'][k % 3], subjectId: orphan });

    const failed = k % 3 === 0 ? s.payment({ status: 'FAILED', createdAt: createdAt(k), intent: { status: 'requires_payment_method' } }) : null;
    const last = failed ? failed.id : k % 3 === 1 ? randomUUID() : null;
    const customerId = failed?.customerId ?? randomUUID();
    planted.push({ type: FindingType.MISSING_PAYMENT, variant: ['last payment FAILED', 'last payment missing', 'no payment'][k % 3], subjectId: s.subscription(customerId, s.bundleOf(false), last, now) });
  }
  return planted;
}

/** Payouts: some clean, `perType` failed that no webhook told us about. */
export async function plantPayouts(s: ReconciliationScenario, now: Date, perType: number): Promise<Planted[]> {
  for (let k = 0; k < 12; k++) await s.stripe.payout({ status: k % 6 ? 'paid' : 'in_transit', created: ago(now, (k + 1) * DAY), amount: 10_000 + k });
  const planted: Planted[] = [];
  for (let k = 0; k < perType; k++) {
    const payout = await s.stripe.payout({ status: 'failed', created: ago(now, DAY + k * HOUR), amount: 20_000 + k, failure_code: 'account_closed' });
    planted.push({ type: FindingType.FAILED_PAYOUT, variant: 'failed, no webhook', subjectId: payout });
  }
  return planted;
}

/**
 * Webhooks Stripe could not deliver: the payment is still PENDING here, Stripe says succeeded,
 * and its payment_intent.succeeded event is `delivery_success=false` — for an hour already (an
 * event still being delivered is not missed yet). Call after every other event was marked delivered.
 */
export async function plantMissedWebhooks(s: ReconciliationScenario, now: Date, perType: number): Promise<Planted[]> {
  const planted: Planted[] = [];
  for (let k = 0; k < perType; k++) {
    const p = s.payment({ status: 'PENDING', createdAt: ago(now, 3 * HOUR + k * 60_000), intent: { status: 'succeeded' } });
    await s.stripe.flush();
    const event = await s.stripe.undeliveredEvent('payment_intent.succeeded', p.intentId!, new Date(now.getTime() - HOUR + k * 1000));
    planted.push({ type: FindingType.MISSED_WEBHOOK, variant: 'payment_intent.succeeded', subjectId: event });
  }
  return planted;
}
