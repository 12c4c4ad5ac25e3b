import { Client } from 'pg';
import type { Logger } from '../platform/observability/logger';
import { INBOX_CHANNEL, type WebhookIntake } from './webhook-intake.service';

export interface InboxListener {
  close(): Promise<void>;
}

/**
 * LISTEN for events stored by other instances (the storing one wakes its own applier in-process),
 * so a second instance applies them at once when the first is busy or died right after the commit.
 * A lost connection is only logged: the sweep job still applies everything, just later.
 */
export async function listenForInbox(connectionString: string, intake: WebhookIntake, logger: Logger): Promise<InboxListener> {
  const client = new Client({ connectionString, application_name: 'recoup-inbox-listener' });
  client.on('error', (error) => logger.error({ err: error }, 'inbox listener connection failed; the sweep job keeps applying events'));
  client.on('notification', (message) => {
    if (message.channel === INBOX_CHANNEL && message.payload !== intake.instanceId) intake.wake();
  });
  await client.connect();
  await client.query(`LISTEN ${INBOX_CHANNEL}`);
  return { close: () => client.end().catch(() => undefined) };
}
