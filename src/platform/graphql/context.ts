import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from '../../app/services';
import type { Logger } from '../observability/logger';
import { actorOf, type Principal } from './auth';
import type { Actor } from '../database/transaction';
import { AppError } from '../shared/errors';

export interface Context {
  requestId: string;
  principal: Principal | null;
  /** Set when credentials were presented but rejected; reported on first use. */
  authError: AppError | null;
  services: Services;
  /** Per-operation EntityManager for reads. */
  em: EntityManager;
  logger: Logger;
}

export function actor(ctx: Context): Actor {
  if (!ctx.principal) throw AppError.unauthenticated();
  return actorOf(ctx.principal, ctx.requestId);
}
