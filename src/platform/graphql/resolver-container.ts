import type { ContainerType } from 'type-graphql';

/**
 * A resolver class and how to build it. The composition root (src/app/resolvers.ts) writes one per
 * resolver, passing the constructor exactly the services that resolver uses; S is whatever it
 * builds them from, which the platform does not know.
 */
export interface ResolverFactory<S> {
  readonly type: Function;
  create(services: S): object;
}

/** Binds a resolver class to its factory; the factory must return an instance of that class. */
export function resolverFactory<S, T extends object>(type: new (...args: never[]) => T, create: (services: S) => T): ResolverFactory<S> {
  return { type, create };
}

/**
 * type-graphql's container (buildSchema's `container`): one instance per resolver class, all built
 * here, up front, so a wiring mistake fails at start-up rather than on the first request. A class
 * without a factory is refused instead of being built without its services.
 */
export function resolverContainer<S>(factories: readonly ResolverFactory<S>[], services: S): ContainerType {
  const instances = new Map<Function, object>();
  for (const { type, create } of factories) {
    if (instances.has(type)) throw new Error(`Resolver ${type.name} has two factories`);
    instances.set(type, create(services));
  }
  return {
    get(someClass: Function) {
      const instance = instances.get(someClass);
      if (!instance) throw new Error(`No factory for ${someClass.name}: add it to the resolver list`);
      return instance;
    },
  };
}

/** For a schema that is only printed (npm run schema): nothing resolves, so nothing is built. */
export const PRINT_ONLY_CONTAINER: ContainerType = {
  get(someClass: Function) {
    throw new Error(`${someClass.name} was asked for by a schema built only to be printed`);
  },
};
