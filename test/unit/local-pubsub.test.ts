import { LocalPubSub, SubscriberTooSlowError } from '../../src/platform/graphql/local-pubsub';

describe('LocalPubSub', () => {
  it('hands every subscriber of a topic the same payload object, in publish order', async () => {
    const pubsub = new LocalPubSub();
    const [a, b] = [pubsub.subscribe('ALERT'), pubsub.subscribe('ALERT')];
    const other = pubsub.subscribe('OTHER');
    const first = { n: 1 };
    pubsub.publish('ALERT', first);
    pubsub.publish('ALERT', { n: 2 });

    const fromA = [(await a.next()).value, (await a.next()).value];
    const fromB = [(await b.next()).value, (await b.next()).value];
    expect(fromA).toEqual([{ n: 1 }, { n: 2 }]);
    expect(fromA[0]).toBe(first);
    expect(fromB[0]).toBe(first);
    pubsub.publish('OTHER', 'x');
    expect(await other.next()).toEqual({ value: 'x', done: false });
  });

  it('resolves a waiting next() when an event arrives, and ends it on return()', async () => {
    const pubsub = new LocalPubSub();
    const sub = pubsub.subscribe('T');
    const waiting = sub.next();
    pubsub.publish('T', 'hello');
    expect(await waiting).toEqual({ value: 'hello', done: false });

    const idle = sub.next();
    await sub.return!();
    expect(await idle).toEqual({ value: undefined, done: true });
    expect(pubsub.subscriberCount('T')).toBe(0);
    pubsub.publish('T', 'after');
    expect(await sub.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a subscriber that falls too far behind with an error, and keeps the others', async () => {
    const pubsub = new LocalPubSub(3);
    const slow = pubsub.subscribe('T');
    const fast = pubsub.subscribe('T');
    for (let i = 0; i < 4; i++) {
      pubsub.publish('T', i);
      expect(await fast.next()).toEqual({ value: i, done: false });
    }
    await expect(slow.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
    expect(pubsub.subscriberCount('T')).toBe(1);
  });
});
