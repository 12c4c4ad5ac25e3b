import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type MiddlewareFn } from 'type-graphql';
import { AccessResolver } from '../access/access.resolver';
import { TelegramBindingResolver } from '../access/telegram-binding.resolver';
import { AlertResolver } from '../alerts/alert.resolver';
import { AuditResolver } from '../audit/audit.resolver';
import { PaymentOperationsResolver } from '../payments/payment-operations.resolver';
import { ReconciliationResolver } from '../reconciliation/reconciliation.resolver';
import { BundleFieldsResolver, CatalogResolver, PlanFieldsResolver } from '../catalog/catalog.resolver';
import { CustomerResolver } from '../customers/customer.resolver';
import { DeliveryResolver, DeliveryStatusChangeResolver } from '../delivery/delivery.resolver';
import { PaymentResolver, PaymentStatusChangeResolver } from '../payments/payment.resolver';
import { PendingPaymentsResolver } from '../payments/pending-payments.resolver';
import { RetryResolver } from '../retries/retry.resolver';
import { AppError } from '../shared/errors';
import { authChecker } from './auth';
import type { Context } from './context';
import type { AppPubSub } from './pubsub';
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
  PaymentResolver,
  PaymentStatusChangeResolver,
  PaymentOperationsResolver,
  PendingPaymentsResolver,
  ReconciliationResolver,
  RetryResolver,
  SystemResolver,
  TelegramBindingResolver,
] as const;

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/**
 * Nothing at the root is public: a field without @Authorized still needs a principal. Credentials
 * that were presented and rejected are reported here, on first use.
 */
const requireAuthentication: MiddlewareFn<Context> = async ({ context, info }, next) => {
  if (ROOT_TYPES.has(info.parentType.name)) {
    if (context.authError) throw context.authError;
    if (!context.principal) throw AppError.unauthenticated();
  }
  return next();
};

export async function buildAppSchema(pubSub: AppPubSub | null, emitSchemaFile?: string): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS as unknown as [Function, ...Function[]],
    pubSub: pubSub ?? { publish: () => undefined, subscribe: () => (async function* () {})() },
    authChecker,
    globalMiddlewares: [requireAuthentication],
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: { forbidUnknownValues: false },
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: true } : false,
  });
}
