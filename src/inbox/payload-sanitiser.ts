/**
 * PostgreSQL's jsonb cannot hold U+0000, nor a lone UTF-16 surrogate (`\ud800` with no partner):
 * the insert fails with "unsupported Unicode escape sequence" and the event would be lost from
 * view. Before it is stored, every string in a payload (object keys included) has those replaced
 * with U+FFFD, and each place changed is reported with its JSON path.
 */

export const REPLACEMENT = '\uFFFD';

export interface SanitisedPath {
  /** JSONPath of the value, or of the entry whose key changed (with the key as stored). */
  path: string;
  /** The object key itself was changed, not the value. */
  key: boolean;
  /** An applier relies on this field: its value must not be guessed (see reliedOn). */
  reliedOn: boolean;
}

export interface Sanitised<T> {
  value: T;
  paths: SanitisedPath[];
}

/** Fields whose exact value the appliers use to find or decide things; free text is everything else. */
const RELIED_ON_KEYS = new Set([
  'id', 'object', 'type', 'status', 'currency',
  // Stripe's references to other objects (string ids, or expanded objects with an id).
  'payment_intent', 'charge', 'latest_charge', 'customer', 'payment_method', 'subscription', 'invoice', 'payout', 'mode',
]);

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** The string with U+0000 and lone surrogates replaced by U+FFFD (Node ≥ 20's toWellFormed). */
export function wellFormed(text: string): string {
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', REPLACEMENT) : text;
  const wf = withoutNul as unknown as WellFormedString;
  return wf.isWellFormed() ? withoutNul : wf.toWellFormed();
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Whether a field at this place is one an applier relies on: ids, types, statuses, currencies, metadata. */
export function isReliedOn(keys: string[], keyChanged: boolean): boolean {
  if (keyChanged) return true;
  if (keys.includes('metadata')) return true;
  const last = keys[keys.length - 1];
  if (last === undefined) return true;
  return RELIED_ON_KEYS.has(last) || last.endsWith('_id') || last.endsWith('_status');
}

/** A copy of `value` fit for jsonb, and where it differs from what arrived. */
export function sanitiseJson<T>(value: T): Sanitised<T> {
  const paths: SanitisedPath[] = [];
  const walk = (node: unknown, path: string, keys: string[]): unknown => {
    if (typeof node === 'string') {
      const fixed = wellFormed(node);
      if (fixed !== node) paths.push({ path, key: false, reliedOn: isReliedOn(keys, false) });
      return fixed;
    }
    if (Array.isArray(node)) {
      let changed = false;
      const out = node.map((item, i) => {
        const fixed = walk(item, child(path, i), keys);
        if (fixed !== item) changed = true;
        return fixed;
      });
      return changed ? out : node;
    }
    if (node !== null && typeof node === 'object') {
      let changed = false;
      const out: Record<string, unknown> = {};
      for (const [rawKey, item] of Object.entries(node as Record<string, unknown>)) {
        const key = wellFormed(rawKey);
        const at = child(path, key);
        if (key !== rawKey) {
          changed = true;
          paths.push({ path: at, key: true, reliedOn: true });
        }
        const fixed = walk(item, at, [...keys, key]);
        if (fixed !== item) changed = true;
        out[key] = fixed;
      }
      return changed ? out : node;
    }
    return node;
  };
  return { value: walk(value, '$', []) as T, paths };
}

/** How a path is recorded on the event row: `$.a.b`, or `$.a["k�y"] (key)` when the key itself changed. */
export function describePath(p: SanitisedPath): string {
  return p.key ? `${p.path} (key)` : p.path;
}
