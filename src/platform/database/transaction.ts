import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../observability/logger';
import type { Clock } from '../shared/clock';

export interface Publisher {
  publish(topic: string, payload: unknown): void;
}

/** Who is acting: recorded in every audit entry. */
export interface Actor {
  /** operator:<sub>, apikey:<name>, customer:<id>, system:<component> */
  id: string;
  requestId?: string;
}

export const systemActor = (component: string): Actor => ({ id: `system:${component}` });

/**
 * One database transaction plus what must happen only once it has committed (publishing events:
 * a subscriber must never see a change that was rolled back).
 */
export class Tx {
  private readonly afterCommitHooks: Array<{ hook: () => void | Promise<void>; subject?: string }> = [];
  /** `Entity:id` of rows this transaction has locked FOR UPDATE (see holdsLock). */
  private readonly lockedRows = new Set<string>();
  constructor(
    readonly em: EntityManager,
    private readonly publisher: Publisher,
    readonly clock: Clock,
  ) {}

  /** `subject`: see afterCommit. */
  publish(topic: string, payload: unknown, subject?: string): void {
    this.afterCommit(() => this.publisher.publish(topic, payload), subject);
  }

  /**
   * Runs `hook` once the transaction has committed. `subject` (a payment id, say) names what the
   * hook is about, for a transaction that changes many at once: see TransactionOptions.aroundAfterCommit.
   */
  afterCommit(hook: () => void | Promise<void>, subject?: string): void {
    this.afterCommitHooks.push({ hook, subject });
  }

  /** Records that this transaction locked the row FOR UPDATE; the lock lasts until it ends. */
  markLocked(entity: string, id: string): void {
    this.lockedRows.add(`${entity}:${id}`);
  }

  /**
   * Whether this transaction already holds the row's lock: no other transaction can have changed
   * it since, so locking it again would only re-read what the identity map already has.
   */
  holdsLock(entity: string, id: string): boolean {
    return this.lockedRows.has(`${entity}:${id}`);
  }

  /** @internal */
  async runAfterCommit(logger: Logger, around: TransactionOptions['aroundAfterCommit'] = (_subject, run) => run()): Promise<void> {
    for (const { hook, subject } of this.afterCommitHooks) {
      try {
        await around(subject, async () => {
          await hook();
        });
      } catch (error) {
        // The commit stands; the database is the source of truth and sweeps repair what a hook missed.
        logger.error({ err: error }, 'after-commit hook failed');
      }
    }
  }
}

export interface TransactionOptions {
  /**
   * Wraps each after-commit hook, told the hook's subject (undefined when it named none): e.g. the
   * inbox, applying a batch of events in one transaction, runs each payment's hooks in the span of
   * the event that paid it.
   */
  aroundAfterCommit?: (subject: string | undefined, run: () => Promise<void>) => Promise<void>;
}

export class Database {
  constructor(
    private readonly rootEm: EntityManager,
    private readonly publisher: Publisher,
    readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** A fresh EntityManager for read-only work (one per request or job run). */
  fork(): EntityManager {
    return this.rootEm.fork();
  }

  async transaction<T>(work: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const em = this.rootEm.fork();
    let tx: Tx | undefined;
    const result = await em.transactional(async (tem) => {
      tx = new Tx(tem as EntityManager, this.publisher, this.clock);
      return work(tx);
    });
    await tx!.runAfterCommit(this.logger, options.aroundAfterCommit);
    return result;
  }
}
