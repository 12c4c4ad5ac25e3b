import type { AlertService } from '../../alerts/alert.service';
import { AlertSeverity, AlertType } from '../../alerts/alert.types';
import type { StripeFact } from '../../integrations/stripe/facts';
import type { PaymentGateway } from '../../integrations/stripe/payment-gateway';
import { systemActor, type Tx } from '../../platform/database/transaction';
import type { Payment } from '../payment.entity';
import type { PaymentSync } from '../payment-sync.service';

/** What applying a Stripe fact uses: Stripe to re-read, the payment writer, and alerts. */
export interface StripeApply {
  gateway: PaymentGateway;
  sync: PaymentSync;
  alerts: AlertService;
}

export const actor = systemActor('stripe-webhook');
export const upper = (currency: string | null): string => String(currency).toUpperCase();

interface FactAlert {
  type: AlertType;
  severity: AlertSeverity;
  title: string;
}

const ALERTS: Partial<Record<StripeFact['kind'], FactAlert>> = {
  PaymentFailed: { type: AlertType.PAYMENT_FAILED, severity: AlertSeverity.HIGH, title: 'Payment failed' },
  Canceled: { type: AlertType.PAYMENT_CANCELED, severity: AlertSeverity.MEDIUM, title: 'Payment canceled' },
  Refunded: { type: AlertType.PAYMENT_REFUNDED, severity: AlertSeverity.MEDIUM, title: 'Payment refunded' },
  Disputed: { type: AlertType.PAYMENT_DISPUTED, severity: AlertSeverity.CRITICAL, title: 'Payment disputed' },
};

/** The alert a fact of this kind raises about its payment (none for the other kinds). */
export async function raise(ctx: StripeApply, tx: Tx, kind: StripeFact['kind'], payment: Payment, detail: string, title?: string): Promise<void> {
  const alert = ALERTS[kind];
  if (!alert) return;
  await ctx.alerts.raise(tx, {
    ...alert,
    title: title ?? `${alert.title}: ${payment.amountMinor} ${payment.currency.toUpperCase()}`,
    detail: `Payment ${payment.id}: ${detail}`,
    subjectType: 'payment',
    subjectId: payment.id,
  });
}

export async function moneyAlert(ctx: StripeApply, tx: Tx, payment: Payment, title: string, detail: string): Promise<void> {
  await ctx.alerts.raise(tx, {
    type: AlertType.WEBHOOK_MONEY_MISMATCH,
    severity: AlertSeverity.HIGH,
    title: `${title}: ${payment.amountMinor} ${payment.currency.toUpperCase()}`,
    detail: `Payment ${payment.id}: ${detail}`,
    subjectType: 'payment',
    subjectId: payment.id,
  });
}
