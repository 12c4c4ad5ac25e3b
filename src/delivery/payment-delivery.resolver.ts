import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { Database } from '../platform/database/transaction';
import type { Context } from '../platform/graphql/context';
import { Payment } from '../payments/payment.entity';
import { Delivery } from './delivery.entity';
import { DeliveryStatus } from './delivery-status';

/**
 * A payment's delivery fields, read from its delivery row. The fields of every payment in one
 * response that resolve in the same turn of the event loop share one query; nothing is cached beyond it, so a
 * long-lived subscription context never answers an old row.
 */
class DeliveryBatch {
  private readonly waiting = new Map<string, Promise<Delivery | null>>();
  private scheduled: Promise<Map<string, Delivery>> | null = null;

  constructor(private readonly db: Database) {}

  load(paymentId: string): Promise<Delivery | null> {
    const known = this.waiting.get(paymentId);
    if (known) return known;
    this.scheduled ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.fetch());
    const found = this.scheduled.then((rows) => rows.get(paymentId) ?? null);
    this.waiting.set(paymentId, found);
    return found;
  }

  private async fetch(): Promise<Map<string, Delivery>> {
    const ids = [...this.waiting.keys()];
    this.waiting.clear();
    this.scheduled = null;
    const rows = await this.db.fork().find(Delivery, { paymentId: { $in: ids } });
    return new Map(rows.map((row) => [row.paymentId, row]));
  }
}

@Resolver(() => Payment)
export class PaymentDeliveryResolver {
  /** One batch per operation context. */
  private readonly batches = new WeakMap<Context, DeliveryBatch>();

  constructor(private readonly db: Database) {}

  private deliveryOf(ctx: Context, payment: Payment): Promise<Delivery | null> {
    let batch = this.batches.get(ctx);
    if (!batch) this.batches.set(ctx, (batch = new DeliveryBatch(this.db)));
    return batch.load(payment.id);
  }

  @FieldResolver(() => DeliveryStatus, { nullable: true })
  async deliveryStatus(@Root() payment: Payment, @Ctx() ctx: Context): Promise<DeliveryStatus | null> {
    return (await this.deliveryOf(ctx, payment))?.status ?? null;
  }

  @FieldResolver(() => Int)
  async deliveryAttempts(@Root() payment: Payment, @Ctx() ctx: Context): Promise<number> {
    return (await this.deliveryOf(ctx, payment))?.attempts ?? 0;
  }

  @FieldResolver(() => Date, { nullable: true })
  async deliveryLastAttemptAt(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Date | null> {
    return (await this.deliveryOf(ctx, payment))?.lastAttemptAt ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the next attempt is due (or, while IN_PROGRESS, when the claim expires).' })
  async deliveryNextAttemptAt(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Date | null> {
    return (await this.deliveryOf(ctx, payment))?.nextAttemptAt ?? null;
  }

  @FieldResolver(() => String, { nullable: true })
  async deliveryFailureReason(@Root() payment: Payment, @Ctx() ctx: Context): Promise<string | null> {
    return (await this.deliveryOf(ctx, payment))?.failureReason ?? null;
  }

  @FieldResolver(() => Boolean, { description: 'Delivered after a failed or missed attempt.' })
  async deliveryRecovered(@Root() payment: Payment, @Ctx() ctx: Context): Promise<boolean> {
    return (await this.deliveryOf(ctx, payment))?.recovered ?? false;
  }

  @FieldResolver(() => Date, { nullable: true })
  async deliveredAt(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Date | null> {
    return (await this.deliveryOf(ctx, payment))?.deliveredAt ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the links were emailed because Telegram could not reach the customer.' })
  async deliveryEmailedAt(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Date | null> {
    return (await this.deliveryOf(ctx, payment))?.emailedAt ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the payment stopped granting access (refunded, cancelled). A delivered payment stays DELIVERED: the links went out, then access was taken back.' })
  async deliveryAccessRevokedAt(@Root() payment: Payment, @Ctx() ctx: Context): Promise<Date | null> {
    return (await this.deliveryOf(ctx, payment))?.accessRevokedAt ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Why access was taken back, e.g. "payment refunded".' })
  async deliveryAccessRevokedReason(@Root() payment: Payment, @Ctx() ctx: Context): Promise<string | null> {
    return (await this.deliveryOf(ctx, payment))?.accessRevokedReason ?? null;
  }
}
