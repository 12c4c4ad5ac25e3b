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
  const rows = newestFirst.filter((row) => createdFilter(row.created) && filter(row));
  const startingAfter = optString(params, 'starting_after');
  const endingBefore = optString(params, 'ending_before');
  if (startingAfter) {
    const after = rows.slice(cursorIndex(rows, startingAfter, 'starting_after') + 1);
    return { object: 'list', data: after.slice(0, limit), has_more: after.length > limit, url };
  }
  if (endingBefore) {
    const before = rows.slice(0, cursorIndex(rows, endingBefore, 'ending_before'));
    const start = Math.max(0, before.length - limit);
    return { object: 'list', data: before.slice(start), has_more: start > 0, url };
  }
  return { object: 'list', data: rows.slice(0, limit), has_more: rows.length > limit, url };
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
