import { FakeStripeError } from './fake-stripe.errors';
import { asParams, optInt, optString, type Params } from './fake-stripe.params';
import type { StripeList, StripeObject } from './fake-stripe.types';

/**
 * Stripe list semantics: newest first, `limit` 1..100 (default 10), cursors by object id, and
 * `created` either an exact timestamp or a range `{gt, gte, lt, lte}`. `ending_before` answers
 * the page just before the cursor, still newest first, which is what autoPagingEach expects.
 * https://docs.stripe.com/api/pagination
 */
export function paginate<T extends StripeObject>(
  newestFirst: T[],
  params: Params,
  url: string,
  filter: (row: T) => boolean = () => true,
): StripeList<T> {
  const limit = optInt(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw FakeStripeError.invalidParam('limit', 'This value must be greater than or equal to 1 and less than or equal to 100.');
  }
  const createdFilter = createdMatcher(params, 'created');
  const matches = (row: T): boolean => createdFilter(row.created) && filter(row);
  const startingAfter = optString(params, 'starting_after');
  const endingBefore = optString(params, 'ending_before');
  if (endingBefore) {
    const rows = newestFirst.filter(matches);
    const before = rows.slice(0, cursorIndex(rows, endingBefore, 'ending_before'));
    const start = Math.max(0, before.length - limit);
    return { object: 'list', data: before.slice(start), has_more: start > 0, url };
  }
  // Forward pages walk the sorted rows from the cursor (or from the range's newest end, found by
  // binary search) and stop at the range's oldest end, so a page costs O(limit + log n), not O(n).
  const { newest, oldest } = createdBounds(params);
  let from = startingAfter ? positionOf(newestFirst, startingAfter, matches) + 1 : firstAtOrBefore(newestFirst, newest);
  const data: T[] = [];
  for (; from < newestFirst.length; from++) {
    const row = newestFirst[from];
    if (oldest !== undefined && row.created < oldest) break;
    if (!matches(row)) continue;
    if (data.length === limit) return { object: 'list', data, has_more: true, url };
    data.push(row);
  }
  return { object: 'list', data, has_more: false, url };
}

const positions = new WeakMap<StripeObject[], Map<string, number>>();

/** Where the cursor object sits in the sorted rows; like Stripe, a cursor outside the filtered list is refused. */
function positionOf<T extends StripeObject>(rows: T[], id: string, matches: (row: T) => boolean): number {
  let index = positions.get(rows);
  if (!index) {
    index = new Map(rows.map((row, i) => [row.id, i]));
    positions.set(rows, index);
  }
  const at = index.get(id);
  if (at === undefined || !matches(rows[at])) throw FakeStripeError.invalidParam('starting_after', `No such object: '${id}'`, 'resource_missing');
  return at;
}

/** The first row (newest first) created at or before `newest`; 0 when unbounded. */
function firstAtOrBefore(rows: StripeObject[], newest: number | undefined): number {
  if (newest === undefined) return 0;
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].created > newest) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The inclusive `created` bounds of a list request, for walking sorted rows. */
function createdBounds(params: Params): { newest?: number; oldest?: number } {
  const raw = params.created;
  if (raw === undefined || raw === '') return {};
  if (typeof raw === 'string') {
    const exact = optInt(params, 'created');
    return { newest: exact, oldest: exact };
  }
  const range = asParams(raw);
  const [gt, gte, lt, lte] = ['gt', 'gte', 'lt', 'lte'].map((key) => optInt(range, key));
  const newest = lt !== undefined ? lt - 1 : lte;
  const oldest = gt !== undefined ? gt + 1 : gte;
  return { newest, oldest };
}

function cursorIndex(rows: StripeObject[], id: string, param: string): number {
  const index = rows.findIndex((row) => row.id === id);
  if (index < 0) throw FakeStripeError.invalidParam(param, `No such object: '${id}'`, 'resource_missing');
  return index;
}

/** A predicate for a timestamp filter such as `created` or `arrival_date`. */
export function createdMatcher(params: Params, name: string): (value: number) => boolean {
  const raw = params[name];
  if (raw === undefined || raw === '') return () => true;
  if (typeof raw === 'string') {
    const exact = optInt(params, name);
    return (value) => value === exact;
  }
  const range = asParams(raw);
  const bound = (key: string): number | undefined => optInt(range, key);
  const [gt, gte, lt, lte] = [bound('gt'), bound('gte'), bound('lt'), bound('lte')];
  return (value) =>
    (gt === undefined || value > gt) &&
    (gte === undefined || value >= gte) &&
    (lt === undefined || value < lt) &&
    (lte === undefined || value <= lte);
}
