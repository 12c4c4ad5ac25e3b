import { FakeStripeError } from './fake-stripe.errors';
import type { Metadata } from './fake-stripe.types';

/**
 * Reading Stripe's form-encoded parameters. Everything arrives as strings (or nested
 * objects/arrays of strings after bracket parsing), so each reader validates and converts,
 * answering Stripe's own error codes for missing or malformed values.
 */
export type Params = Record<string, unknown>;

export function asParams(value: unknown): Params {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Params) : {};
}

export function optString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw FakeStripeError.invalidParam(name, `Invalid string: ${name}`, 'parameter_invalid_string');
  return value;
}

export function reqString(params: Params, name: string): string {
  const value = optString(params, name);
  if (value === undefined) throw FakeStripeError.missingParam(name);
  return value;
}

export function optInt(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed)) throw FakeStripeError.invalidInteger(name, value);
  return parsed;
}

export function reqInt(params: Params, name: string): number {
  const value = optInt(params, name);
  if (value === undefined) throw FakeStripeError.missingParam(name);
  return value;
}

export function optBool(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw FakeStripeError.invalidParam(name, `Invalid boolean: ${String(value)}`, 'parameter_invalid_boolean');
}

export function optEnum<T extends string>(params: Params, name: string, allowed: readonly T[]): T | undefined {
  const value = optString(params, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw FakeStripeError.invalidParam(name, `Invalid ${name}: must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function metadataOf(params: Params, name = 'metadata'): Metadata {
  const raw = params[name];
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw FakeStripeError.invalidParam(name, 'Invalid object', 'parameter_invalid_object');
  }
  const metadata: Metadata = {};
  for (const [key, value] of Object.entries(raw)) {
    // Stripe deletes a key when it is set to an empty string; on create that means "absent".
    if (typeof value === 'string' && value !== '') metadata[key] = value;
    else if (typeof value === 'number') metadata[key] = String(value);
  }
  return metadata;
}

/** `expand[]=a&expand[]=b` and `expand[0]=a` both arrive as arrays; a lone value as a string. */
export function expandPaths(params: Params): string[] {
  const raw = params.expand;
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw)) return raw.filter((item): item is string => typeof item === 'string');
  if (typeof raw === 'object' && raw !== null) return Object.values(raw).filter((item): item is string => typeof item === 'string');
  return [];
}

/** Arrays with more than 100 entries come back from bracket parsing as objects keyed by index. */
export function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) return Object.values(value);
  return [];
}
