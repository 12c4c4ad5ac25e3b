import { Entity, Index, ManyToOne, Property, Unique, type Ref } from '@mikro-orm/core';
import { Customer } from '../customers/customer.entity';
import { BaseEntity } from '../platform/database/base.entity';

/**
 * A one-time token behind a customer's Telegram deep link (t.me/<bot>?start=<token>). Only its
 * SHA-256 is stored: the table alone cannot be turned into working links. A token binds once
 * (usedAt) and only until expiresAt.
 */
@Entity({ tableName: 'telegram_binding_tokens' })
export class BindingToken extends BaseEntity {
  @Index()
  @ManyToOne({ entity: () => Customer, ref: true })
  customer!: Ref<Customer>;

  @Unique()
  @Property({ type: 'text' })
  tokenHash!: string;

  @Property({ type: 'timestamptz' })
  expiresAt!: Date;

  @Property({ type: 'timestamptz', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  usedByTelegramUserId: string | null = null;
}
