import { Client } from 'pg';
import type { Logger } from '../observability/logger';
import type { Publisher } from '../database/transaction';
import { LocalPubSub } from './local-pubsub';

export interface AppPubSub extends Publisher {
  subscribe(topic: string, dynamicId?: unknown): AsyncIterable<unknown>;
  readonly mode: 'MEMORY' | 'POSTGRES';
  close(): Promise<void>;
}

const CHANNEL = 'recoup_events';

/**
 * Payloads go through JSON in both modes, so a subscriber sees the same shapes whether the event
 * was raised in this process or, through Postgres NOTIFY, in another one.
 */
export function createMemoryPubSub(): AppPubSub {
  const local = new LocalPubSub();
  return {
    mode: 'MEMORY',
    publish: (topic, payload) => local.publish(topic, JSON.parse(JSON.stringify(payload))),
    subscribe: (topic) => local.subscribe(topic),
    close: async () => undefined,
  };
}

/**
 * LISTEN/NOTIFY: every instance listens on one channel and republishes locally, so an event
 * published by instance A reaches dashboards connected to instance B (and A itself).
 */
export async function createPostgresPubSub(connectionString: string, logger: Logger): Promise<AppPubSub> {
  const local = new LocalPubSub();
  const listener = new Client({ connectionString });
  const notifier = new Client({ connectionString });
  await Promise.all([listener.connect(), notifier.connect()]);
  listener.on('notification', (message) => {
    try {
      const { topic, payload } = JSON.parse(message.payload ?? '{}') as { topic: string; payload: unknown };
      local.publish(topic, payload);
    } catch (error) {
      logger.warn({ err: error }, 'ignored a malformed pubsub notification');
    }
  });
  listener.on('error', (error) => logger.error({ err: error }, 'pubsub listener connection failed'));
  notifier.on('error', (error) => logger.error({ err: error }, 'pubsub notifier connection failed'));
  await listener.query(`LISTEN ${CHANNEL}`);
  return {
    mode: 'POSTGRES',
    publish: (topic, payload) => {
      notifier
        .query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ topic, payload })])
        .catch((error: unknown) => logger.error({ err: error, topic }, 'pubsub publish failed'));
    },
    subscribe: (topic) => local.subscribe(topic),
    close: async () => {
      await Promise.allSettled([listener.end(), notifier.end()]);
    },
  };
}
