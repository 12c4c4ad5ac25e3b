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
  UNMATCHED_GATEWAY_EVENT = 'UNMATCHED_GATEWAY_EVENT',
  GATEWAY_EVENT_FAILED = 'GATEWAY_EVENT_FAILED',
  CHECKOUT_FAILED = 'CHECKOUT_FAILED',
  JOB_FAILED = 'JOB_FAILED',
  DELIVERY_FAILED = 'DELIVERY_FAILED',
  RECOVERY_REPORT = 'RECOVERY_REPORT',
  LATE_PAYMENT = 'LATE_PAYMENT',
  LARGE_CLEANUP = 'LARGE_CLEANUP',
}
registerEnumType(AlertType, { name: 'AlertType' });
