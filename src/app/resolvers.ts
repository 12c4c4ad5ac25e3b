/**
 * Every resolver class of the API, each with the services it uses: the schema is built from this
 * list (src/platform/graphql/schema.ts), and type-graphql gets one instance of each class, built
 * here (src/platform/graphql/resolver-container.ts). A resolver never sees the whole of Services.
 */
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
import { resolverContainer, resolverFactory, type ResolverFactory } from '../platform/graphql/resolver-container';
import { RetryResolver } from '../retries/retry.resolver';
import type { Services } from './services';
import { SystemResolver } from './system.resolver';

const resolver = <T extends object>(type: new (...args: never[]) => T, create: (services: Services) => T) => resolverFactory(type, create);

export const RESOLVER_FACTORIES: readonly ResolverFactory<Services>[] = [
  resolver(AccessResolver, () => new AccessResolver()),
  resolver(AlertResolver, () => new AlertResolver()),
  resolver(AuditResolver, () => new AuditResolver()),
  resolver(CatalogResolver, (s) => new CatalogResolver(s.catalog)),
  resolver(BundleFieldsResolver, (s) => new BundleFieldsResolver(s.catalog)),
  resolver(PlanFieldsResolver, () => new PlanFieldsResolver()),
  resolver(CustomerResolver, (s) => new CustomerResolver(s.customers)),
  resolver(DeliveryResolver, () => new DeliveryResolver()),
  resolver(DeliveryStatusChangeResolver, () => new DeliveryStatusChangeResolver()),
  resolver(InboundEventResolver, () => new InboundEventResolver()),
  resolver(PaymentDeliveryResolver, () => new PaymentDeliveryResolver()),
  resolver(PaymentResolver, () => new PaymentResolver()),
  resolver(PaymentStatusChangeResolver, () => new PaymentStatusChangeResolver()),
  resolver(PaymentOperationsResolver, () => new PaymentOperationsResolver()),
  resolver(PendingPaymentsResolver, () => new PendingPaymentsResolver()),
  resolver(ReconciliationResolver, () => new ReconciliationResolver()),
  resolver(RetryResolver, () => new RetryResolver()),
  resolver(SystemResolver, () => new SystemResolver()),
  resolver(TelegramBindingResolver, () => new TelegramBindingResolver()),
];

/** The resolver classes, for the schema. */
export const RESOLVERS: readonly Function[] = RESOLVER_FACTORIES.map((factory) => factory.type);

/** What type-graphql builds resolvers through: each class's one instance, with its services. */
export const createResolverContainer = (services: Services) => resolverContainer(RESOLVER_FACTORIES, services);
