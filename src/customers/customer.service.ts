import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.service';
import type { Actor, Database, Tx } from '../platform/database/transaction';
import { AppError } from '../platform/shared/errors';
import { isUuid } from '../platform/shared/ids';
import { Customer } from './customer.entity';

export interface CustomerFields { name?: string | null; email?: string | null; phone?: string | null; telegramUserId?: string | null }

const PERSONAL_FIELDS = ['name', 'email', 'phone', 'telegramUserId'] as const;

export class CustomerService {
  constructor(private readonly db: Database) {}

  async save(actor: Actor, id: string | null, fields: CustomerFields): Promise<Customer> {
    return this.db.transaction(async (tx) => {
      const customer = id ? await this.require(tx.em, id) : tx.em.create(Customer, {});
      if (customer.anonymizedAt) throw AppError.conflict(`Customer ${customer.id} was anonymised and cannot be edited`);
      const changed: string[] = [];
      for (const key of PERSONAL_FIELDS) {
        if (fields[key] === undefined) continue;
        customer[key] = fields[key] ?? null;
        changed.push(key);
      }
      tx.em.persist(customer);
      // Personal data stays out of the audit trail: it records which fields changed, not their values.
      recordAudit(tx, actor, { action: id ? 'customer.update' : 'customer.create', subjectType: 'customer', subjectId: customer.id, after: { changed } });
      return customer;
    });
  }

  /**
   * The customer proved, through a one-time deep link, that this Telegram account is theirs. A
   * customer already bound to another account is left alone: whoever holds a leaked link must not
   * be able to take over someone's deliveries (an operator can rebind with updateCustomer). An
   * anonymised customer binds nothing either.
   */
  bindTelegram(tx: Tx, actor: Actor, customer: Customer, telegramUserId: string): 'bound' | 'already' | 'bound_elsewhere' {
    if (customer.telegramUserId === telegramUserId) return 'already';
    if (customer.telegramUserId || customer.anonymizedAt) return 'bound_elsewhere';
    customer.telegramUserId = telegramUserId;
    recordAudit(tx, actor, { action: 'customer.bind_telegram', subjectType: 'customer', subjectId: customer.id, after: { changed: ['telegramUserId'] } });
    return 'bound';
  }

  /** Live (not anonymised) customers bound to this Telegram account; usually one. */
  findByTelegramUserId(em: EntityManager, telegramUserId: string): Promise<Customer[]> {
    return em.find(Customer, { telegramUserId, anonymizedAt: null });
  }

  async require(em: EntityManager, id: string): Promise<Customer> {
    const customer = isUuid(id) ? await em.findOne(Customer, id) : null;
    if (!customer) throw AppError.notFound('Customer', id);
    return customer;
  }
}
