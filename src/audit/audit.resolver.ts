import { Arg, Args, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { AppError } from '../platform/shared/errors';
import { AuditEntry } from './audit-entry.entity';

const AuditEntryConnection = ConnectionType(AuditEntry, 'AuditEntry');

@Resolver(() => AuditEntry)
export class AuditResolver {
  @Authorized('VIEWER')
  @Query(() => AuditEntryConnection, { complexity: connectionComplexity, description: 'Who did what to one subject (a payment, alert, subscription…), newest first.' })
  auditTrail(
    @Ctx() ctx: Context,
    @Args() page: ConnectionArgs,
    @Arg('subject', () => ID, { description: 'The subject id, e.g. a payment id.' }) subject: string,
    @Arg('subjectType', () => String, { nullable: true, description: 'payment, alert, subscription, …; omitted: any.' }) subjectType?: string,
  ) {
    if (subject.length > 200) throw AppError.badInput('subject is too long');
    return paginate(ctx.em, AuditEntry, subjectType ? { subjectId: subject, subjectType } : { subjectId: subject }, page);
  }
}
