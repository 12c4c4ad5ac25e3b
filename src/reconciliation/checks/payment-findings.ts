import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import type { GatewayPaymentIntent } from '../../integrations/stripe/payment-gateway';
import type { PaymentFacts } from '../../payments/payment-lookup';
import { FindingType } from '../reconciliation-finding.entity';
import type { Finding } from './check.types';

const money = (minor: number, currency: string): string => `${minor} ${currency.toUpperCase()}`;
const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function outOfSync(payment: PaymentFacts, intent: GatewayPaymentIntent, why: string): Finding {
  return {
    type: FindingType.PAYMENT_OUT_OF_SYNC,
    subjectType: 'payment',
    subjectId: payment.id,
    detail: why,
    action: 'alerted',
    data: { ourStatus: payment.status, gatewayStatus: intent.status, paymentIntentId: intent.id, ourRefundedMinor: payment.refundedMinor, gatewayRefundedMinor: intent.amountRefundedMinor },
    raise: {
      type: AlertType.PAYMENT_OUT_OF_SYNC,
      severity: AlertSeverity.HIGH,
      title: `Payment out of sync with Stripe: ${money(payment.amountMinor, payment.currency)}`,
      detail: `Payment ${payment.id} / ${intent.id}: ${why}. Check it, then run syncPaymentWithGateway.`,
      subjectType: 'payment',
      subjectId: payment.id,
    },
  };
}

export function unknownGatewayPayment(intent: GatewayPaymentIntent): Finding {
  const points = intent.paymentId ? `its metadata names payment ${intent.paymentId}, which is not this intent's` : 'it carries no paymentId metadata';
  return {
    type: FindingType.UNKNOWN_GATEWAY_PAYMENT,
    subjectType: 'payment_intent',
    subjectId: intent.id,
    detail: `succeeded at Stripe with no payment of ours: ${points}`,
    action: 'alerted',
    data: { gatewayStatus: intent.status, amountMinor: intent.amountReceivedMinor, currency: intent.currency, metadataPaymentId: intent.paymentId, created: iso(intent.created) },
    raise: {
      type: AlertType.UNKNOWN_GATEWAY_PAYMENT,
      severity: AlertSeverity.CRITICAL,
      title: `Stripe payment Recoup has no record of: ${money(intent.amountReceivedMinor, intent.currency)}`,
      detail: `PaymentIntent ${intent.id} (created ${iso(intent.created)}) succeeded, but ${points}. Find whose money it is, then attach or refund it.`,
      subjectType: 'payment_intent',
      subjectId: intent.id,
    },
  };
}

export function stuckAuthorization(payment: PaymentFacts, intent: GatewayPaymentIntent, expiresAt: Date): Finding {
  return {
    type: FindingType.STUCK_AUTHORIZATION,
    subjectType: 'payment',
    subjectId: payment.id,
    detail: `authorized ${iso(payment.authorizedAt)}, expires ${iso(expiresAt)}, not captured`,
    action: 'alerted',
    data: { gatewayStatus: intent.status, paymentIntentId: intent.id, authorizedAt: iso(payment.authorizedAt), captureBefore: iso(expiresAt), captureBeforeFromStripe: Boolean(intent.captureBefore), deliveryStatus: payment.deliveryStatus },
    raise: {
      type: AlertType.STUCK_AUTHORIZATION,
      severity: AlertSeverity.HIGH,
      title: `Authorization about to expire: ${money(payment.amountMinor, payment.currency)}`,
      detail: `Payment ${payment.id} / ${intent.id} is still only authorized and Stripe drops the hold at ${iso(expiresAt)}. Capture it (capturePayment) or release it (releaseAuthorization).`,
      subjectType: 'payment',
      subjectId: payment.id,
    },
  };
}

export function noShow(payment: PaymentFacts, intent: GatewayPaymentIntent, noShowAt: Date, failure: string | null): Finding {
  const released = failure === null;
  return {
    type: FindingType.NO_SHOW_AUTO_RELEASED,
    subjectType: 'payment',
    subjectId: payment.id,
    detail: released ? `access not fulfilled by ${iso(noShowAt)}: authorization released` : `access not fulfilled by ${iso(noShowAt)}; release failed: ${failure}`,
    action: released ? 'released' : 'release_failed',
    data: { paymentIntentId: intent.id, authorizedAt: iso(payment.authorizedAt), noShowAt: iso(noShowAt), deliveryStatus: payment.deliveryStatus, failure },
    raise: {
      type: AlertType.NO_SHOW_AUTO_RELEASED,
      severity: released ? AlertSeverity.MEDIUM : AlertSeverity.HIGH,
      title: released ? `No-show: authorization released (${money(payment.amountMinor, payment.currency)})` : `No-show release failed (${money(payment.amountMinor, payment.currency)})`,
      detail: released
        ? `Payment ${payment.id} / ${intent.id}: the customer's access was not fulfilled by ${iso(noShowAt)} (delivery ${payment.deliveryStatus ?? 'none'}), so the hold on the card was released and the payment cancelled.`
        : `Payment ${payment.id} / ${intent.id} should have been released as a no-show but Stripe refused: ${failure}. Release or capture it by hand.`,
      subjectType: 'payment',
      subjectId: payment.id,
    },
  };
}
