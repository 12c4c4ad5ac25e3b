import { subjectFingerprint } from '../../alerts/alert.service';
import { AlertType } from '../../alerts/alert.types';
import type { DisputeClosed } from '../../integrations/stripe/facts';
import type { Tx } from '../../platform/database/transaction';
import type { Payment } from '../payment.entity';
import { actor, upper, type StripeApply } from './context';

/** Closed with the money left to us: won, or an inquiry (a warning) that never became a chargeback. */
const WON = ['won', 'warning_closed'];

/**
 * charge.dispute.closed. Won: the payment is paid again (DISPUTED -> SUCCEEDED, access and the
 * delivery come back through the status listeners). Lost: the bank kept the money, the payment
 * is (or, when the created event was missed, becomes) DISPUTED and access stays ended. Either way
 * the PAYMENT_DISPUTED alert is resolved with the outcome. A redelivery changes nothing twice:
 * the status is already where it goes and no alert is open.
 */
export async function disputeClosed(ctx: StripeApply, tx: Tx, payment: Payment, fact: DisputeClosed): Promise<string> {
  const amount = `${String(fact.money.disputedMinor)} ${upper(fact.money.currency as string | null)}`;
  const won = WON.includes(fact.status);
  if (!won && fact.status !== 'lost') return `no change: dispute ${fact.disputeId} closed as ${fact.status}`;
  const outcome = won
    ? await ctx.sync.recordDisputeWon(tx, actor, payment, fact.disputeId, `dispute won (${fact.disputeId}, ${fact.status})`)
    : await ctx.sync.recordDispute(tx, actor, payment, `dispute lost (${fact.disputeId})`);
  const note = won
    ? `Dispute ${fact.disputeId} won (${fact.status}): ${amount} stays paid; the payment is ${payment.status} again and access is given back.`
    : `Dispute ${fact.disputeId} lost: the bank kept ${amount}; the payment stays ${payment.status} and access stays ended.`;
  await ctx.alerts.resolveByFingerprint(tx, subjectFingerprint(AlertType.PAYMENT_DISPUTED, 'payment', payment.id), note, 'stripe-webhook');
  return `${won ? 'dispute won' : 'dispute lost'}: ${outcome}`;
}
