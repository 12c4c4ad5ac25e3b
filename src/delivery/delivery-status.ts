import { registerEnumType } from 'type-graphql';

/**
 * PENDING: due at deliveryNextAttemptAt. IN_PROGRESS: claimed; deliveryNextAttemptAt is the end of
 * the lease, after which a sweep may claim it again (the worker died). AWAITING_CUSTOMER: links
 * exist but the bot cannot message the customer until they start it. DELIVERED and FAILED are final
 * until an operator recovers the payment.
 */
export enum DeliveryStatus {
  PENDING = 'PENDING',
  IN_PROGRESS = 'IN_PROGRESS',
  AWAITING_CUSTOMER = 'AWAITING_CUSTOMER',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });
