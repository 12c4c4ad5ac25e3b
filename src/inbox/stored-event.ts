import { GatewayEvent } from './gateway-event.entity';
import type { IncomingEvent } from './intake.types';
import { sanitiseJson, wellFormed, type SanitisedPath } from './payload-sanitiser';

// How an event is stored in gateway_events and read back when claimed (webhook-intake.service.ts).

/** The NOTIFY channel on which an instance that stored an event wakes the others. */
export const INBOX_CHANNEL = 'recoup_inbox';

/** lastError of an event refused for good; a redelivery holds the same bytes and is not requeued. */
export const REFUSED = 'not applied:';

/**
 * One statement: insert the event or find it, and (when asked) NOTIFY the other instances, sent
 * on commit. A redelivery of an event whose applying failed (it waits for its backoff, or we gave
 * up on it) makes it due now; one refused for good, not; one merely not applied yet is a duplicate. One being applied meanwhile is safe: the applying
 * transaction holds its row, and a second claimer skips it.
 */
const store = (returning: string, notify: boolean): string => `
  with stored as (
    insert into gateway_events (id, gateway, event_id, type, payload, sanitized_paths, received_at, attempts, last_error, next_attempt_at, created_at, updated_at)
    values (gen_random_uuid(), ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)
    on conflict (gateway, event_id) do update set next_attempt_at = excluded.received_at, updated_at = excluded.received_at
      where gateway_events.processed_at is null and excluded.last_error is null
        and gateway_events.last_error is not null and gateway_events.last_error not like '${REFUSED}%'
    returning ${returning}, (xmax = 0) as inserted
  )
  select stored.*${notify ? `, pg_notify('${INBOX_CHANNEL}', ?)` : ''} from stored`;
export const STORE_AND_NOTIFY = store('id', true);
export const STORE_QUIETLY = store('id', false);
export const STORE_REFUSED = store('*', false);

/** A claimed row as the claim returns it: everything an applier reads. */
export interface Claimed {
  id: string;
  gateway: string;
  event_id: string;
  type: string;
  payload: Record<string, unknown>;
  sanitized_paths: string[] | null;
  attempts: number;
  last_error: string | null;
  received_at: Date;
}

/** The claimed row as a GatewayEvent for the appliers: a plain object, not one the unit of work tracks. */
export function eventOf(row: Claimed): GatewayEvent {
  return Object.assign(new GatewayEvent(), {
    id: row.id,
    gateway: row.gateway,
    eventId: row.event_id,
    type: row.type,
    payload: row.payload,
    sanitizedPaths: row.sanitized_paths,
    attempts: row.attempts,
    lastError: row.last_error,
    receivedAt: new Date(row.received_at),
  });
}

/** An incoming event made storable, with what had to change. */
export interface StorableEvent extends IncomingEvent {
  sanitizedPaths: SanitisedPath[];
}

/** The event with every string jsonb (and text) cannot hold replaced, and the paths that changed. */
export function storable(incoming: IncomingEvent): StorableEvent {
  const { value, paths } = sanitiseJson(incoming.payload);
  return { gateway: incoming.gateway, eventId: wellFormed(incoming.eventId), type: wellFormed(incoming.type), payload: value, sanitizedPaths: paths };
}
