import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type ContainerType } from 'type-graphql';
import { AppError } from '../shared/errors';
import { authChecker } from './auth';
import type { Context } from './context';
import type { AppPubSub } from './pubsub';
import { PRINT_ONLY_CONTAINER } from './resolver-container';


/**
 * Nothing at the root is public: a field without @Authorized still needs a principal. Credentials
 * that were presented and rejected are reported here, on first use.
 */
function requireAuthentication(context: Context): void {
  if (context.authError) throw context.authError;
  if (!context.principal) throw AppError.unauthenticated();
}

/** PostgreSQL cannot store U+0000 in text or jsonb: refused up front as bad input, not as a failure deep in SQL. */
function assertNoNulCharacters(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw AppError.badInput(`${path} must not contain NUL characters (U+0000)`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoNulCharacters(item, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) assertNoNulCharacters(item, `${path}.${key}`);
  }
}

/**
 * Wraps every root field (Query, Mutation, Subscription) in requireAuthentication and the NUL
 * check of its arguments. Only the root:
 * a type-graphql global middleware would also wrap every nested field in an async chain, which
 * dominated the cost of fanning one alert out to a thousand subscribers.
 */
function guardRootFields(schema: GraphQLSchema): GraphQLSchema {
  const guard = (resolver: GraphQLFieldResolver<unknown, Context>): GraphQLFieldResolver<unknown, Context> => (source, args, context, info) => {
    requireAuthentication(context);
    for (const [name, value] of Object.entries(args)) assertNoNulCharacters(value, name);
    return resolver(source, args, context, info);
  };
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      field.resolve = guard(field.resolve ?? defaultFieldResolver);
      if (field.subscribe) field.subscribe = guard(field.subscribe);
    }
  }
  return schema;
}

/**
 * The schema of these resolvers (the app's list, src/app/resolvers.ts), with the root-field guards.
 * The container hands type-graphql the resolver instances, each built with the services it uses
 * (resolver-container.ts); a schema built only to be printed passes none.
 */
export async function buildAppSchema(resolvers: readonly Function[], container: ContainerType | null, pubSub: AppPubSub | null, emitSchemaFile?: string): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: resolvers as unknown as [Function, ...Function[]],
    container: container ?? PRINT_ONLY_CONTAINER,
    pubSub: pubSub ?? { publish: () => undefined, subscribe: () => (async function* () {})() },
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: { forbidUnknownValues: false },
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: true } : false,
  });
  return guardRootFields(schema);
}
