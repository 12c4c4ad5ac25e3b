/** PubSub topics. Payloads are plain JSON (they may cross processes through Postgres NOTIFY). */
export const Topic = {
  ALERT_RAISED: 'ALERT_RAISED',
  ALERT_RESOLVED: 'ALERT_RESOLVED',
  PAYMENT_STATUS_CHANGED: 'PAYMENT_STATUS_CHANGED',
  DELIVERY_STATUS_CHANGED: 'DELIVERY_STATUS_CHANGED',
  RECOVERY_STATS_UPDATED: 'RECOVERY_STATS_UPDATED',
  ACCESS_CHANGED: 'ACCESS_CHANGED',
  RETRY_EVENT: 'RETRY_EVENT',
} as const;
export type Topic = (typeof Topic)[keyof typeof Topic];
