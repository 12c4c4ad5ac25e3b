import { LockMode } from '@mikro-orm/core';
import { recordAudit } from '../audit/audit.service';
import { systemActor, type Tx } from '../database/transaction';
import { Customer } from './customer.entity';

const actor = systemActor('personal-data');

/**
 * Deletes a customer's personal data. The customer row stays, anonymous, so payments keep their
 * amounts and gateway ids for accounting. Copies elsewhere (gateway event payloads, Telegram user
 * ids on invite links) are scrubbed by their owners through the hooks given here.
 */
export class PersonalDataService {
  private readonly scrubbers: Array<(tx: Tx, subject: { customerId: string; email: string | null; phone: string | null; telegramUserId: string | null }) => Promise<void>> = [];

  onErase(scrubber: (typeof this.scrubbers)[number]): void {
    this.scrubbers.push(scrubber);
  }

  async erase(tx: Tx, customerId: string): Promise<boolean> {
    const customer = await tx.em.findOneOrFail(Customer, customerId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (customer.anonymizedAt) return false;
    const subject = { customerId, email: customer.email, phone: customer.phone, telegramUserId: customer.telegramUserId };
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
