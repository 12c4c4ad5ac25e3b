import { Entity, Index, Property, type Opt } from '@mikro-orm/core';
import { BaseEntity } from '../platform/database/base.entity';

export type TelegramActionKind = 'sendMessage' | 'revokeInviteLink' | 'approveJoinRequest' | 'declineJoinRequest' | 'removeChatMember';

/**
 * A Bot API call that an update's handling decided on, written in the same transaction as the
 * decision and made after commit (Telegram is never called inside a transaction). A row exists
 * only while the call is owed: it is deleted when the call succeeds or is given up, so user ids
 * in `params` do not outlive their purpose. nextAttemptAt doubles as a claim lease.
 */
@Entity({ tableName: 'telegram_outbox' })
export class TelegramOutboxItem extends BaseEntity {
  @Property({ type: 'text' })
  kind!: TelegramActionKind;

  @Property({ type: 'jsonb' })
  params!: Record<string, string>;

  @Property({ type: 'integer', default: 0 })
  attempts: number & Opt = 0;

  @Index()
  @Property({ type: 'timestamptz' })
  nextAttemptAt!: Date;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;
}
