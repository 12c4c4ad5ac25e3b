import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../observability/logger';
import { actorOf, type Principal } from './auth';
import type { Actor } from '../database/transaction';
import { AppError } from '../shared/errors';

/**
 * What every resolver gets per operation: who asks, and an EntityManager and a logger for this
 * operation. Not the services: a resolver is built with the few it uses (src/app/resolvers.ts).
 */
export interface Context {
  requestId: string;
  principal: Principal | null;
  /** Set when credentials were presented but rejected; reported on first use. */
  authError: AppError | null;
  /** Per-operation EntityManager for reads. */
  em: EntityManager;
  logger: Logger;
}

export function actor(ctx: Context): Actor {
  if (!ctx.principal) throw AppError.unauthenticated();
  return actorOf(ctx.principal, ctx.requestId);
}
