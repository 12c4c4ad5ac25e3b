/** Every resolver class of the API; the schema is built from this list (src/platform/graphql/schema.ts). */
import { AccessResolver } from '../access/access.resolver';
import { TelegramBindingResolver } from '../access/telegram-binding.resolver';
import { AlertResolver } from '../alerts/alert.resolver';
import { AuditResolver } from '../audit/audit.resolver';
import { PaymentOperationsResolver } from '../payments/payment-operations.resolver';
import { ReconciliationResolver } from '../reconciliation/reconciliation.resolver';
import { BundleFieldsResolver, CatalogResolver, PlanFieldsResolver } from '../catalog/catalog.resolver';
import { CustomerResolver } from '../customers/customer.resolver';
import { InboundEventResolver } from '../inbox/inbound-event.resolver';
import { DeliveryResolver, DeliveryStatusChangeResolver } from '../delivery/delivery.resolver';
import { PaymentDeliveryResolver } from '../delivery/payment-delivery.resolver';
import { PaymentResolver, PaymentStatusChangeResolver } from '../payments/payment.resolver';
import { PendingPaymentsResolver } from '../payments/pending-payments.resolver';
import { RetryResolver } from '../retries/retry.resolver';
import { SystemResolver } from './system.resolver';

export const RESOLVERS = [
  AccessResolver,
  AlertResolver,
  AuditResolver,
  CatalogResolver,
  BundleFieldsResolver,
  PlanFieldsResolver,
  CustomerResolver,
  DeliveryResolver,
  DeliveryStatusChangeResolver,
  InboundEventResolver,
  PaymentDeliveryResolver,
  PaymentResolver,
  PaymentStatusChangeResolver,
  PaymentOperationsResolver,
  PendingPaymentsResolver,
  ReconciliationResolver,
  RetryResolver,
  SystemResolver,
  TelegramBindingResolver,
] as const;
