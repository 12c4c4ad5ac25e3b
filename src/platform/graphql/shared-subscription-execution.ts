import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Context } from './context';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * graphql's `subscribe`, but an event goes through `execute` once per distinct audience rather
 * than once per subscriber: a thousand dashboards on `alertRaised` share one result per alert.
 *
 * Who may subscribe, and which events reach whom (the resolvers' filters), is still decided per
 * subscriber in createSourceEventStream. Sharing is only between subscribers that would compute
 * the same result: the same document, operation and variables, and the same authority (a staff
 * role, or one customer). The cache hangs off the event object, which the pubsub hands to every
 * subscriber, so it lives exactly as long as the event.
 */
export async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream;
  const key = audienceKey(args);
  return mapEvents(stream, (event) => executeOnce(event, key, () => execute({ ...args, rootValue: event })));
}

const resultsByEvent = new WeakMap<object, Map<string, Result>>();

function executeOnce(event: unknown, key: string, run: () => Result): Result {
  if (typeof event !== 'object' || event === null) return run();
  let results = resultsByEvent.get(event);
  if (!results) resultsByEvent.set(event, (results = new Map()));
  let result = results.get(key);
  if (!result) results.set(key, (result = run()));
  return result;
}

function audienceKey(args: ExecutionArgs): string {
  const principal = (args.contextValue as Context | undefined)?.principal;
  // Staff see the same by role; a customer's view may be their own, so never shared across customers.
  const authority = !principal ? 'anonymous' : principal.role === 'CUSTOMER' ? `customer:${principal.subject}` : `staff:${principal.role}`;
  return JSON.stringify([authority, args.operationName ?? null, args.variableValues ?? null, print(args.document)]);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
}

/**
 * A plain iterator rather than an async generator: `return()` must reach the source at once (it
 * unsubscribes from the pubsub), even while a `next()` is waiting for an event that may never come.
 */
function mapEvents<T, R>(source: AsyncIterable<T>, map: (value: T) => R | Promise<R>): AsyncIterableIterator<R> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const item = await iterator.next();
      return item.done ? { done: true, value: undefined } : { done: false, value: await map(item.value) };
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await iterator.return?.();
      throw error;
    },
  };
}
