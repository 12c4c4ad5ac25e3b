import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122030432_initial } from './Migration20261122030432_initial';
import { Migration20261122031939_delivery } from './Migration20261122031939_delivery';
import { Migration20261122032513_pending_payments } from './Migration20261122032513_pending_payments';
import { Migration20261122032725_subscriptions } from './Migration20261122032725_subscriptions';
import { Migration20261122033722_access_links_email } from './Migration20261122033722_access_links_email';
import { Migration20261122042621_reconciliation } from './Migration20261122042621_reconciliation';
import { Migration20261122043328_retry_queue } from './Migration20261122043328_retry_queue';
import { Migration20261202150024_gateway_event_sanitized_paths } from './Migration20261202150024_gateway_event_sanitized_paths';
import { Migration20261202190954_deliveries } from './Migration20261202190954_deliveries';
import { Migration20261203060500_business_metrics } from './Migration20261203060500_business_metrics';
import { Migration20261203060700_gateway_events_listing } from './Migration20261203060700_gateway_events_listing';
import { Migration20261203061928_analytics } from './Migration20261203061928_analytics';
import { Migration20261203064441_plan_gateway } from './Migration20261203064441_plan_gateway';
import { Migration20261203065410_verification } from './Migration20261203065410_verification';
import { Migration20261203124929_payout_gateway } from './Migration20261203124929_payout_gateway';

/** Every migration, in order. `npm run migration:create` rewrites this file. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261122030432_initial', class: Migration20261122030432_initial },
  { name: 'Migration20261122031939_delivery', class: Migration20261122031939_delivery },
  { name: 'Migration20261122032513_pending_payments', class: Migration20261122032513_pending_payments },
  { name: 'Migration20261122032725_subscriptions', class: Migration20261122032725_subscriptions },
  { name: 'Migration20261122033722_access_links_email', class: Migration20261122033722_access_links_email },
  { name: 'Migration20261122042621_reconciliation', class: Migration20261122042621_reconciliation },
  { name: 'Migration20261122043328_retry_queue', class: Migration20261122043328_retry_queue },
  { name: 'Migration20261202150024_gateway_event_sanitized_paths', class: Migration20261202150024_gateway_event_sanitized_paths },
  { name: 'Migration20261202190954_deliveries', class: Migration20261202190954_deliveries },
  { name: 'Migration20261203060500_business_metrics', class: Migration20261203060500_business_metrics },
  { name: 'Migration20261203060700_gateway_events_listing', class: Migration20261203060700_gateway_events_listing },
  { name: 'Migration20261203061928_analytics', class: Migration20261203061928_analytics },
  { name: 'Migration20261203064441_plan_gateway', class: Migration20261203064441_plan_gateway },
  { name: 'Migration20261203065410_verification', class: Migration20261203065410_verification },
  { name: 'Migration20261203124929_payout_gateway', class: Migration20261203124929_payout_gateway },
];
