import { registerEnumType } from 'type-graphql';

export enum AlertSeverity {
  CRITICAL = 'CRITICAL',
  HIGH = 'HIGH',
  MEDIUM = 'MEDIUM',
  LOW = 'LOW',
  INFO = 'INFO',
}
registerEnumType(AlertSeverity, { name: 'AlertSeverity' });

/** Higher is worse; `minSeverity` filters compare on this. */
export const SEVERITY_RANK: Readonly<Record<AlertSeverity, number>> = {
  CRITICAL: 4,
  HIGH: 3,
  MEDIUM: 2,
  LOW: 1,
  INFO: 0,
};

export const severitiesAtLeast = (min: AlertSeverity): AlertSeverity[] =>
  (Object.keys(SEVERITY_RANK) as AlertSeverity[]).filter((s) => SEVERITY_RANK[s] >= SEVERITY_RANK[min]);

export enum AlertType {
  PAYMENT_FAILED = 'PAYMENT_FAILED',
  PAYMENT_CANCELED = 'PAYMENT_CANCELED',
  PAYMENT_REFUNDED = 'PAYMENT_REFUNDED',
  PAYMENT_DISPUTED = 'PAYMENT_DISPUTED',
  /** A refund Stripe reported failed: the customer did not get the money back, and it is owed again. */
  REFUND_FAILED = 'REFUND_FAILED',
  UNMATCHED_GATEWAY_EVENT = 'UNMATCHED_GATEWAY_EVENT',
  GATEWAY_EVENT_FAILED = 'GATEWAY_EVENT_FAILED',
  /** A webhook event's money did not fit the payment: Recoup re-read Stripe and recorded what Stripe says, or nothing. */
  WEBHOOK_MONEY_MISMATCH = 'WEBHOOK_MONEY_MISMATCH',
  CHECKOUT_FAILED = 'CHECKOUT_FAILED',
  JOB_FAILED = 'JOB_FAILED',
  DELIVERY_FAILED = 'DELIVERY_FAILED',
  RECOVERY_REPORT = 'RECOVERY_REPORT',
  LATE_PAYMENT = 'LATE_PAYMENT',
  LARGE_CLEANUP = 'LARGE_CLEANUP',
  PAYMENT_OUT_OF_SYNC = 'PAYMENT_OUT_OF_SYNC',
  STUCK_AUTHORIZATION = 'STUCK_AUTHORIZATION',
  FAILED_PAYOUT = 'FAILED_PAYOUT',
  PAYOUT_CANCELED = 'PAYOUT_CANCELED',
  MISSING_PAYMENT = 'MISSING_PAYMENT',
  UNKNOWN_GATEWAY_PAYMENT = 'UNKNOWN_GATEWAY_PAYMENT',
  NO_SHOW_AUTO_RELEASED = 'NO_SHOW_AUTO_RELEASED',
  MISSED_WEBHOOKS = 'MISSED_WEBHOOKS',
  CAPTURE_FAILED = 'CAPTURE_FAILED',
  RECONCILIATION_FAILED = 'RECONCILIATION_FAILED',
  RETRY_EXHAUSTED = 'RETRY_EXHAUSTED',
  TELEGRAM_ACTION_FAILED = 'TELEGRAM_ACTION_FAILED',
}
registerEnumType(AlertType, { name: 'AlertType' });
