/**
 * Every resolver class of the API, each with the services it uses: the schema is built from this
 * list (src/platform/graphql/schema.ts), and type-graphql gets one instance of each class, built
 * here (src/platform/graphql/resolver-container.ts). A resolver never sees the whole of Services.
 */
import { AccessResolver } from '../access/access.resolver';
import { AnalyticsResolver } from '../analytics/analytics.resolver';
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
import { CustomerVerificationResolver, VerificationResolver } from '../verification/verification.resolver';

const resolver = <T extends object>(type: new (...args: never[]) => T, create: (services: Services) => T) => resolverFactory(type, create);

export const RESOLVER_FACTORIES: readonly ResolverFactory<Services>[] = [
  resolver(AccessResolver, (s) => new AccessResolver(s.accessQueries, s.testLinks)),
  resolver(AlertResolver, (s) => new AlertResolver(s.alerts)),
  resolver(AnalyticsResolver, (s) => new AnalyticsResolver(s.analytics)),
  resolver(AuditResolver, () => new AuditResolver()),
  resolver(CatalogResolver, (s) => new CatalogResolver(s.catalog)),
  resolver(BundleFieldsResolver, (s) => new BundleFieldsResolver(s.catalog)),
  resolver(PlanFieldsResolver, () => new PlanFieldsResolver()),
  resolver(CustomerResolver, (s) => new CustomerResolver(s.customers)),
  resolver(CustomerVerificationResolver, (s) => new CustomerVerificationResolver(s.verification)),
  resolver(DeliveryResolver, (s) => new DeliveryResolver(s.recoveryStats, s.deliveryAdmin)),
  resolver(DeliveryStatusChangeResolver, (s) => new DeliveryStatusChangeResolver(s.db)),
  resolver(InboundEventResolver, (s) => new InboundEventResolver(s.intake)),
  resolver(PaymentDeliveryResolver, (s) => new PaymentDeliveryResolver(s.db)),
  resolver(PaymentResolver, (s) => new PaymentResolver(s.gateway)),
  resolver(PaymentStatusChangeResolver, () => new PaymentStatusChangeResolver()),
  resolver(PaymentOperationsResolver, (s) => new PaymentOperationsResolver(s.paymentOperations, s.refunds)),
  resolver(PendingPaymentsResolver, (s) => new PendingPaymentsResolver(s.payments, s.pending, s.customers, s.checkoutAdvice, s.staleCleanup, s.telegramBinding)),
  resolver(ReconciliationResolver, (s) => new ReconciliationResolver(s.reconciliation)),
  resolver(RetryResolver, (s) => new RetryResolver(s.retryRequests, s.retryQueue)),
  resolver(SystemResolver, (s) => new SystemResolver(s.health, s.scheduler, s.db)),
  resolver(TelegramBindingResolver, (s) => new TelegramBindingResolver(s.customers, s.telegramBinding)),
  resolver(VerificationResolver, (s) => new VerificationResolver(s.verification)),
];

/** The resolver classes, for the schema. */
export const RESOLVERS: readonly Function[] = RESOLVER_FACTORIES.map((factory) => factory.type);

/** What type-graphql builds resolvers through: each class's one instance, with its services. */
export const createResolverContainer = (services: Services) => resolverContainer(RESOLVER_FACTORIES, services);
