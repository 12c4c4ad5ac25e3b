import type { GatewayPaymentIntent } from '../integrations/stripe/payment-gateway';
import { PaymentStatus } from './payment-status';

/**
 * Where the money is, which is what "in sync" means for reconciliation. Statuses that differ
 * without money being at stake (our FAILED against Stripe's requires_payment_method, a customer
 * still retrying) are not discrepancies; the webhooks settle them.
 */
export type MoneyState = 'NONE' | 'HELD' | 'CAPTURED' | 'REFUNDED';

export function gatewayMoney(intent: Pick<GatewayPaymentIntent, 'status' | 'amountReceivedMinor' | 'amountRefundedMinor'>): MoneyState {
  if (intent.status === 'requires_capture') return 'HELD';
  if (intent.status !== 'succeeded') return 'NONE';
  return intent.amountReceivedMinor > 0 && intent.amountRefundedMinor >= intent.amountReceivedMinor ? 'REFUNDED' : 'CAPTURED';
}

export function ourMoney(status: PaymentStatus): MoneyState {
  switch (status) {
    case PaymentStatus.AUTHORIZED:
      return 'HELD';
    case PaymentStatus.SUCCEEDED:
    case PaymentStatus.DISPUTED:
      return 'CAPTURED';
    case PaymentStatus.REFUNDED:
      return 'REFUNDED';
    default:
      return 'NONE';
  }
}

export interface OurSide {
  status: PaymentStatus;
  refundedMinor: number;
}

/** Why our payment and Stripe's intent disagree, or null when they agree. */
export function disagreement(ours: OurSide, intent: Pick<GatewayPaymentIntent, 'status' | 'amountReceivedMinor' | 'amountRefundedMinor'>): string | null {
  const theirs = gatewayMoney(intent);
  const mine = ourMoney(ours.status);
  if (mine !== theirs) return `ours is ${ours.status} (${mine.toLowerCase()}), Stripe's intent is ${intent.status} (${theirs.toLowerCase()})`;
  if (mine === 'CAPTURED' && ours.refundedMinor !== intent.amountRefundedMinor) {
    return `refunded ${intent.amountRefundedMinor} at Stripe but ${ours.refundedMinor} in our records`;
  }
  return null;
}

/** A Stripe payment that is money we hold: captured and not given back. */
export const holdsMoney = (intent: Pick<GatewayPaymentIntent, 'status' | 'amountReceivedMinor' | 'amountRefundedMinor'>): boolean =>
  gatewayMoney(intent) === 'CAPTURED';
