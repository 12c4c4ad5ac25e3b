import { LockMode } from '@mikro-orm/core';
import { recordAudit } from '../audit/audit.service';
import { systemActor, type Tx } from '../platform/database/transaction';
import { Customer } from './customer.entity';
import type { ErasureSubject } from './personal-data-copies';

const actor = systemActor('personal-data');

export type Scrubber = (tx: Tx, subject: ErasureSubject) => Promise<void>;

/**
 * Deletes a customer's personal data. The customer row stays, anonymous, so payments keep their
 * amounts and gateway ids for accounting. Copies elsewhere are scrubbed, in the same transaction,
 * by their owners through the hooks given here (services.ts): gateway event payloads, invite links,
 * binding tokens, the Telegram outbox, and by value every free-text and jsonb column that can pick
 * a value up (personal-data-copies.ts). Each hook is bounded SQL, never a loop over rows.
 */
export class PersonalDataService {
  private readonly scrubbers: Scrubber[] = [];

  onErase(scrubber: Scrubber): void {
    this.scrubbers.push(scrubber);
  }

  async erase(tx: Tx, customerId: string): Promise<boolean> {
    const customer = await tx.em.findOneOrFail(Customer, customerId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (customer.anonymizedAt) return false;
    const subject: ErasureSubject = { customerId, name: customer.name, email: customer.email, phone: customer.phone, telegramUserId: customer.telegramUserId };
    for (const scrub of this.scrubbers) await scrub(tx, subject);
    customer.name = null;
    customer.email = null;
    customer.phone = null;
    customer.telegramUserId = null;
    customer.anonymizedAt = tx.clock.now();
    recordAudit(tx, actor, { action: 'customer.erase', subjectType: 'customer', subjectId: customerId, note: 'personal data deleted: no subscription remains' });
    return true;
  }
}
