import { IsEmail, IsOptional, Length, Matches } from 'class-validator';
import { Arg, Args, Authorized, Ctx, Field, ID, InputType, Mutation, Query, Resolver } from 'type-graphql';
import { actor, type Context } from '../platform/graphql/context';
import { ConnectionArgs, ConnectionType, connectionComplexity, paginate } from '../platform/graphql/connection';
import { isUuid } from '../platform/shared/ids';
import { Customer } from './customer.entity';
import type { CustomerService } from './customer.service';

const CustomerConnection = ConnectionType(Customer, 'Customer');

@InputType()
class CustomerInput {
  @Field(() => String, { nullable: true }) @IsOptional() @Length(1, 200) name?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @IsEmail() email?: string | null;
  @Field(() => String, { nullable: true, description: 'E.164, e.g. +14155550100.' })
  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'phone must be in E.164 format, e.g. +14155550100' })
  phone?: string | null;
  @Field(() => String, { nullable: true }) @IsOptional() @Matches(/^\d{1,20}$/, { message: 'telegramUserId must be numeric' }) telegramUserId?: string | null;
}

@Resolver(() => Customer)
export class CustomerResolver {
  constructor(private readonly customerService: CustomerService) {}

  @Authorized('VIEWER')
  @Query(() => CustomerConnection, { complexity: connectionComplexity })
  customers(@Ctx() ctx: Context, @Args() page: ConnectionArgs, @Arg('search', () => String, { nullable: true }) search?: string) {
    const term = search?.trim();
    const like = `%${term?.replace(/[\\%_]/g, '\\$&')}%`;
    const where = term
      ? { $or: [{ name: { $ilike: like } }, { email: { $ilike: like } }, { phone: { $like: like } }, { telegramUserId: term }] }
      : {};
    return paginate(ctx.em, Customer, where, page);
  }

  @Authorized('VIEWER')
  @Query(() => Customer, { nullable: true })
  customer(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<Customer | null> {
    return isUuid(id) ? ctx.em.findOne(Customer, id) : Promise.resolve(null);
  }

  @Authorized('ADMIN')
  @Mutation(() => Customer)
  createCustomer(@Ctx() ctx: Context, @Arg('input', () => CustomerInput) input: CustomerInput): Promise<Customer> {
    return this.customerService.save(actor(ctx), null, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Customer)
  updateCustomer(@Ctx() ctx: Context, @Arg('id', () => ID) id: string, @Arg('input', () => CustomerInput) input: CustomerInput): Promise<Customer> {
    return this.customerService.save(actor(ctx), id, input);
  }
}
