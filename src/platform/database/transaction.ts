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
  private readonly afterCommitHooks: Array<() => void | Promise<void>> = [];
  /** `Entity:id` of rows this transaction has locked FOR UPDATE (see holdsLock). */
  private readonly lockedRows = new Set<string>();
  constructor(
    readonly em: EntityManager,
    private readonly publisher: Publisher,
    readonly clock: Clock,
  ) {}

  publish(topic: string, payload: unknown): void {
    this.afterCommit(() => this.publisher.publish(topic, payload));
  }

  afterCommit(hook: () => void | Promise<void>): void {
    this.afterCommitHooks.push(hook);
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
  async runAfterCommit(logger: Logger): Promise<void> {
    for (const hook of this.afterCommitHooks) {
      try {
        await hook();
      } catch (error) {
        // The commit stands; the database is the source of truth and sweeps repair what a hook missed.
        logger.error({ err: error }, 'after-commit hook failed');
      }
    }
  }
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

  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const em = this.rootEm.fork();
    let tx: Tx | undefined;
    const result = await em.transactional(async (tem) => {
      tx = new Tx(tem as EntityManager, this.publisher, this.clock);
      return work(tx);
    });
    await tx!.runAfterCommit(this.logger);
    return result;
  }
}
