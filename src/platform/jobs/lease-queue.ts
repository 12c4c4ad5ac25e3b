import { retryDelayMs, type BackoffPolicy } from '../shared/backoff';

/** What runs the SQL: a forked EntityManager, or a transaction's `tx.em` (then the claim commits with it). */
export interface SqlExecutor {
  execute(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * A table that is a queue. Each row carries when it is next due; a claim writes a lease end there
 * (or in `leaseColumn`), so a worker that dies gives its rows back when the lease runs out, and a
 * row is never due for two workers at once. Predicates are SQL over the queue's own columns,
 * written by the feature (never user input); with `from` they use `alias`.
 */
export interface LeaseQueueSpec {
  table: string;
  /** The claim's FROM when it needs a join (e.g. `payments p join customers c on c.id = p.customer_id`); locks only `alias`. */
  from?: string;
  alias?: string;
  /** Default `id`. */
  idColumn?: string;
  /** When the row is next due. Default `next_attempt_at`. */
  dueColumn?: string;
  /** Where a claim writes its lease end; default the due column. Separate when the due time must survive the claim (retry jobs). */
  leaseColumn?: string;
  /** A row whose due column is null is due (nobody has scheduled it yet). Default: null is never due. */
  dueWhenNull?: boolean;
  /** Default `attempts`; null when the table counts none. */
  attemptsColumn?: string | null;
  /**
   * The claim counts the attempt, so an attempt whose worker died is still spent. Otherwise the
   * caller counts it when it records the outcome, and the claim skips rows that spent maxAttempts.
   */
  countOnClaim?: boolean;
  /** Attempts after which retryLater gives up (and, unless countOnClaim, the claim skips the row). */
  maxAttempts?: number;
  /** Written by retryLater; null when the table keeps none. */
  lastError?: { column: string; maxLength: number } | null;
  /** Stamped by claim and renew; default `updated_at`, null for none. */
  updatedAtColumn?: string | null;
  /** Extra claimable predicate, e.g. `status = 'PENDING'`. */
  ready?: string;
  /** Extra assignments every claim makes, e.g. `delivery_status = 'IN_PROGRESS'`. */
  claimSet?: string;
  /** Claim order; default the due column. RETURNING does not keep it: sort the rows again if it matters. */
  order?: string;
  /** Default the id column. */
  returning?: string;
  /**
   * Compare with `(select ?::timestamptz)`: the planner then cannot multiply "due" by the status's
   * selectivity (they are correlated) and reads the first rows in index order instead of sorting
   * every due row (the delivery sweep: 6 ms instead of 60 with 10,000 due).
   */
  opaqueNow?: boolean;
  leaseMs: number;
  /** From config: the queue's base and cap, and the shared QUEUE_JITTER_PERCENT. None: the queue plans its own retries (retry jobs: dunning strategies). */
  backoff?: BackoffPolicy;
}

export interface ClaimOptions {
  now: Date;
  limit: number;
  /** Only these rows (an immediate attempt after commit). */
  ids?: readonly string[];
  /** Also claimable, whatever the due column says (`or (...)`), e.g. a fresh row at start-up. */
  orDue?: string;
  /** Narrows this claim (`and (...)`), with its parameters. */
  where?: string;
  params?: unknown[];
  /** Extra assignments for this claim, with their parameters (retry jobs: the lease token). */
  set?: string;
  setParams?: unknown[];
  /**
   * With `ids`: wait for a row another transaction holds instead of skipping it (a kick after a
   * commit, for a row an unrelated transaction may have locked for a moment; a skip would leave it
   * to the next sweep). Never for a sweep: instances would queue behind each other.
   */
  waitForLock?: boolean;
}

export interface HeldBy {
  /** The lease end our claim wrote: it identifies the claim when the lease column is the due column. */
  leaseUntil?: Date;
  /** Any other proof the claim is ours (`lease_token = ?`, `status = 'IN_PROGRESS'`). */
  where?: string;
  params?: unknown[];
}

/**
 * The one lease queue behind every queue (inbox, delivery, capture, alert notify, Telegram
 * outbox, email fallback, retry jobs): claim with FOR UPDATE SKIP LOCKED and a lease in one
 * statement (instances sweeping together take disjoint rows; none waits on another's lock),
 * renew a lease that a slow attempt would outlast, and schedule the next attempt with backoff
 * and the configured jitter (rows failing together do not retry together). Each queue is a spec
 * of a few lines; none carries its own copy of this SQL.
 */
export class LeaseQueue<Row = { id: string }> {
  private readonly id: string;
  private readonly due: string;
  private readonly lease: string;
  private readonly attempts: string | null;

  constructor(readonly spec: LeaseQueueSpec) {
    this.id = spec.idColumn ?? 'id';
    this.due = spec.dueColumn ?? 'next_attempt_at';
    this.lease = spec.leaseColumn ?? this.due;
    this.attempts = spec.attemptsColumn === undefined ? 'attempts' : spec.attemptsColumn;
    if (spec.countOnClaim && !this.attempts) throw new Error(`lease queue ${spec.table}: countOnClaim needs an attempts column`);
  }

  leaseEnd(now: Date): Date {
    return new Date(now.getTime() + this.spec.leaseMs);
  }

  /** Claims up to `limit` due rows: one UPDATE over a SKIP LOCKED subquery, answering RETURNING. */
  async claim(db: SqlExecutor, options: ClaimOptions): Promise<Row[]> {
    const { now, limit, ids } = options;
    if (limit < 1 || ids?.length === 0) return [];
    const { spec } = this;
    const col = (name: string): string => (spec.alias ? `${spec.alias}.${name}` : name);
    const sets = [`${this.lease} = ?`];
    const setParams: unknown[] = [this.leaseEnd(now)];
    if (spec.countOnClaim) sets.push(`${this.attempts} = ${this.attempts} + 1`);
    if (spec.updatedAtColumn !== null) {
      sets.push(`${spec.updatedAtColumn ?? 'updated_at'} = ?`);
      setParams.push(now);
    }
    if (spec.claimSet) sets.push(spec.claimSet);
    if (options.set) {
      sets.push(options.set);
      setParams.push(...(options.setParams ?? []));
    }
    const dueNow = [`${col(this.due)} <= ${spec.opaqueNow ? '(select ?::timestamptz)' : '?'}`];
    if (spec.dueWhenNull) dueNow.push(`${col(this.due)} is null`);
    if (options.orDue) dueNow.push(`(${options.orDue})`);
    const where = [`(${dueNow.join(' or ')})`];
    const whereParams: unknown[] = [now];
    if (spec.ready) where.push(`(${spec.ready})`);
    if (spec.maxAttempts !== undefined && this.attempts && !spec.countOnClaim) {
      where.push(`${col(this.attempts)} < ?`);
      whereParams.push(spec.maxAttempts);
    }
    if (ids) {
      where.push(`${col(this.id)} in (${ids.map(() => '?').join(', ')})`);
      whereParams.push(...ids);
    }
    if (options.where) {
      where.push(`(${options.where})`);
      whereParams.push(...(options.params ?? []));
    }
    const sql = `update ${spec.table} set ${sets.join(', ')}
       where ${this.id} in (select ${col(this.id)} from ${spec.from ?? spec.table} where ${where.join(' and ')}
                             order by ${spec.order ?? col(this.due)} limit ? for update${spec.alias ? ` of ${spec.alias}` : ''}${options.waitForLock && ids ? '' : ' skip locked'})
       returning ${spec.returning ?? this.id}`;
    return (await db.execute(sql, [...setParams, ...whereParams, limit])) as Row[];
  }

  /** Extends a held lease to now + leaseMs; null when the claim is no longer ours. */
  async renew(db: SqlExecutor, id: string, now: Date, held: HeldBy = {}): Promise<Date | null> {
    const until = this.leaseEnd(now);
    const sets = [`${this.lease} = ?`];
    const params: unknown[] = [until];
    if (this.spec.updatedAtColumn !== null) {
      sets.push(`${this.spec.updatedAtColumn ?? 'updated_at'} = ?`);
      params.push(now);
    }
    const where = [`${this.id} = ?`];
    params.push(id);
    if (held.leaseUntil) {
      where.push(`${this.lease} = ?`);
      params.push(held.leaseUntil);
    }
    if (held.where) {
      where.push(`(${held.where})`);
      params.push(...(held.params ?? []));
    }
    const rows = (await db.execute(`update ${this.spec.table} set ${sets.join(', ')} where ${where.join(' and ')} returning ${this.id}`, params)) as unknown[];
    return rows.length > 0 ? until : null;
  }

  /**
   * A claim identified by its lease end, confirmed before a step that must not run twice: kept
   * while more than half the lease is left (no other worker can take a row before its lease ends),
   * renewed otherwise. So a confirmed claim is ours for at least half a lease.
   */
  async hold(db: SqlExecutor, id: string, leaseUntil: Date, now: Date, held: Omit<HeldBy, 'leaseUntil'> = {}): Promise<Date | null> {
    if (leaseUntil.getTime() - now.getTime() > this.spec.leaseMs / 2) return leaseUntil;
    return this.renew(db, id, now, { ...held, leaseUntil });
  }

  /** Whether a row that has made `attempts` attempts is given up. */
  spent(attempts: number): boolean {
    return this.spec.maxAttempts !== undefined && attempts >= this.spec.maxAttempts;
  }

  /** When attempt `attempts + 1` is due: backoff with the configured jitter, and never before `atLeastMs` (a Retry-After). */
  retryAt(attempts: number, now: Date, atLeastMs = 0, random: () => number = Math.random): Date {
    if (!this.spec.backoff) throw new Error(`lease queue ${this.spec.table} has no backoff: it plans its own retries`);
    return new Date(now.getTime() + Math.max(retryDelayMs(attempts, this.spec.backoff, random), atLeastMs));
  }

  /**
   * Records a failed attempt: the row is due again at retryAt, or, once spent, never (due null:
   * the caller raises its alert or deletes the row). Answers the next due time, null when given up.
   */
  async retryLater(db: SqlExecutor, id: string, attempts: number, now: Date, error: string, options: { atLeastMs?: number; random?: () => number } = {}): Promise<Date | null> {
    const next = this.spent(attempts) ? null : this.retryAt(attempts, now, options.atLeastMs, options.random);
    const sets = [`${this.due} = ?`];
    const params: unknown[] = [next];
    if (this.lease !== this.due) sets.push(`${this.lease} = null`);
    if (this.spec.lastError) {
      sets.push(`${this.spec.lastError.column} = ?`);
      params.push(error.slice(0, this.spec.lastError.maxLength));
    }
    if (this.spec.updatedAtColumn !== null) {
      sets.push(`${this.spec.updatedAtColumn ?? 'updated_at'} = ?`);
      params.push(now);
    }
    await db.execute(`update ${this.spec.table} set ${sets.join(', ')} where ${this.id} = ?`, [...params, id]);
    return next;
  }
}
