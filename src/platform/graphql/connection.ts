import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { Max, Min } from 'class-validator';
import { ArgsType, type ClassType, Field, Int, ObjectType } from 'type-graphql';
import { AppError } from '../shared/errors';
import { isUuid } from '../shared/ids';

@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ArgsType()
export class ConnectionArgs {
  @Field(() => Int, { defaultValue: 20, description: 'Page size, 1 to 100.' })
  @Min(1)
  @Max(100)
  first: number = 20;

  @Field(() => String, { nullable: true, description: 'endCursor of the previous page.' })
  after?: string | null;
}

export interface Connection<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: PageInfo;
  totalCount: number;
}

/** A Relay connection type for one node type: `XConnection { edges { node cursor } pageInfo totalCount }`. */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string): ClassType<Connection<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => node) node!: T;
    @Field() cursor!: string;
  }
  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int) totalCount!: number;
  }
  return ConnectionClass;
}

/**
 * Lists cost their page size times what each node asks for. A page size out of range is refused when
 * the field resolves, which can be after its siblings have run: it is counted as the largest page, so
 * a bad argument can never lower the bill (a negative `first` once cancelled out everything else).
 */
export const connectionComplexity = ({ args, childComplexity }: { args: { first?: unknown }; childComplexity: number }): number => {
  const first = args.first ?? 20;
  const pageSize = typeof first === 'number' && Number.isInteger(first) && first >= 1 && first <= 100 ? first : 100;
  return pageSize * Math.max(1, childComplexity);
};

const encodeCursor = (createdAt: Date, id: string): string => Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  // The id is compared with a uuid column: anything else would fail in Postgres as an internal error.
  if (!id || !isUuid(id) || Number.isNaN(createdAt.getTime())) throw AppError.badInput('Invalid cursor', { cursor });
  return { createdAt, id };
}

/**
 * Keyset pagination, newest first, on (createdAt, id): stable while rows are being added.
 * `exclude` leaves properties unread (a large column no field of the node shows).
 */
export async function paginate<T extends { id: string; createdAt: Date }>(
  em: EntityManager,
  entity: ClassType<T>,
  where: FilterQuery<T>,
  args: ConnectionArgs,
  options: { exclude?: ReadonlyArray<keyof T & string> } = {},
): Promise<Connection<T>> {
  const first = Math.min(100, Math.max(1, args.first ?? 20));
  const conditions: unknown[] = [where];
  if (args.after) {
    const { createdAt, id } = decodeCursor(args.after);
    conditions.push({ $or: [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }] });
  }
  const [rows, totalCount] = await Promise.all([
    em.find(entity, { $and: conditions } as FilterQuery<T>, { orderBy: { createdAt: 'desc', id: 'desc' } as never, limit: first + 1, ...(options.exclude ? { exclude: options.exclude as never } : {}) }),
    em.count(entity, where),
  ]);
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ node, cursor: encodeCursor(node.createdAt, node.id) }));
  return {
    edges,
    totalCount,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
