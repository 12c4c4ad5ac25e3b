/**
 * Reading and checking single variables. A `Reader` never throws: it records each problem and
 * returns the fallback, so `loadConfig` can report every problem at once in a `ConfigError`.
 */
export type Env = Record<string, string | undefined>;

export type Role = 'ADMIN' | 'OPERATOR' | 'VIEWER';
export const ROLES: readonly Role[] = ['ADMIN', 'OPERATOR', 'VIEWER'];

export interface ApiKey {
  name: string;
  role: Role;
  key: string;
}

export class Reader {
  readonly problems: string[] = [];
  /** `read`: every variable name asked for is added (so a test can check `.env.example` lists them all). */
  constructor(
    private readonly env: Env,
    private readonly read?: Set<string>,
  ) {}

  str(name: string, fallback?: string): string | undefined {
    this.read?.add(name);
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  }

  required(name: string, when: boolean, fallback: string): string {
    const value = this.str(name);
    if (value !== undefined) return value;
    if (when) this.problems.push(`${name} is required`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  url(name: string, fallback?: string, protocols = ['http:', 'https:']): string | undefined {
    const raw = this.str(name, fallback);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return raw.replace(/\/$/, '');
    } catch {
      this.problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
      return fallback;
    }
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** `API_KEYS=name:ROLE:key,name2:ROLE:key2` */
export function parseApiKeys(raw: string | undefined, problems: string[]): ApiKey[] {
  if (!raw) return [];
  return raw.split(',').flatMap((entry, index) => {
    const [name, role, key] = entry.trim().split(':');
    if (!name || !key || !ROLES.includes(role as Role)) {
      problems.push(`API_KEYS entry ${index + 1} must be name:ROLE:key with ROLE one of ${ROLES.join(', ')}`);
      return [];
    }
    if (key.length < 16) problems.push(`API_KEYS entry "${name}" must have a key of at least 16 characters`);
    return [{ name, role: role as Role, key }];
  });
}

export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `TRUST_PROXY`: a hop count, or express's names/addresses ('loopback, uniquelocal', '10.0.0.0/8'). */
export function trustProxy(raw: string): string | number {
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}
