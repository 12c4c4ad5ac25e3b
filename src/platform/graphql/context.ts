import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../observability/logger';
import { actorOf, type Principal } from './auth';
import type { Actor } from '../database/transaction';
import { AppError } from '../shared/errors';

/**
 * The services resolvers reach through the context. Empty here, so the platform knows no
 * feature: the composition root (src/app/services.ts) fills it in by declaration merging.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ContextServices {}

export interface Context {
  requestId: string;
  principal: Principal | null;
  /** Set when credentials were presented but rejected; reported on first use. */
  authError: AppError | null;
  services: ContextServices;
  /** Per-operation EntityManager for reads. */
  em: EntityManager;
  logger: Logger;
}

export function actor(ctx: Context): Actor {
  if (!ctx.principal) throw AppError.unauthenticated();
  return actorOf(ctx.principal, ctx.requestId);
}
