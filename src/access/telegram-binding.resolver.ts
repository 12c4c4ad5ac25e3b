import { Arg, Authorized, Ctx, Field, ID, Mutation, ObjectType, Resolver } from 'type-graphql';
import type { CustomerService } from '../customers/customer.service';
import type { Context } from '../platform/graphql/context';
import { AppError } from '../platform/shared/errors';
import type { TelegramBinding } from './telegram-binding.service';

@ObjectType({ description: "A one-time link that connects a customer's Telegram account; it works once, until expiresAt." })
class TelegramDeepLink {
  @Field() url!: string;
  @Field() expiresAt!: Date;
}

@Resolver()
export class TelegramBindingResolver {
  constructor(
    private readonly customers: CustomerService,
    private readonly telegramBinding: TelegramBinding,
  ) {}

  @Authorized('OPERATOR', 'CUSTOMER')
  @Mutation(() => TelegramDeepLink, { description: 'A fresh Telegram deep link (t.me/<bot>?start=<token>) for the customer; a customer token gets its own.' })
  async createTelegramLink(@Ctx() ctx: Context, @Arg('customerId', () => ID, { nullable: true }) customerId?: string): Promise<TelegramDeepLink> {
    const own = ctx.principal?.role === 'CUSTOMER' ? ctx.principal.subject : null;
    if (own && customerId && customerId !== own) throw AppError.forbidden('A customer token acts only for its own customer');
    if (!own && !customerId) throw AppError.badInput('customerId is required');
    const customer = await this.customers.require(ctx.em, own ?? customerId!);
    if (customer.anonymizedAt) throw AppError.conflict(`Customer ${customer.id} was anonymised`);
    const link = await this.telegramBinding.deepLinkFor(customer.id);
    if (!link) throw new AppError('UNAVAILABLE', 'Telegram is not reachable right now; please try again shortly');
    return link;
  }
}
