import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { timingSafeEqual } from 'node:crypto';
import type { AuthChecker } from 'type-graphql';
import type { Config, Role } from '../config';
import type { Actor } from '../database/transaction';
import { AppError } from '../shared/errors';

export type PrincipalRole = Role | 'CUSTOMER';

export interface Principal {
  kind: 'operator' | 'apikey' | 'customer';
  /** JWT `sub` (operator or customer id) or the API key's name. */
  subject: string;
  role: PrincipalRole;
  /** When the credentials stop being valid (a JWT's `exp`); API keys do not expire. */
  expiresAt?: Date;
}

/** Each staff role includes the ones below it. Customers are a separate axis. */
const STAFF_RANK: Record<Role, number> = { VIEWER: 1, OPERATOR: 2, ADMIN: 3 };

export function hasRole(principal: Principal, required: PrincipalRole): boolean {
  if (required === 'CUSTOMER') return principal.role === 'CUSTOMER';
  if (principal.role === 'CUSTOMER') return false;
  return STAFF_RANK[principal.role] >= STAFF_RANK[required];
}

export function actorOf(principal: Principal, requestId?: string): Actor {
  return { id: `${principal.kind}:${principal.subject}`, requestId };
}

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export type Authenticator = (credentials: { authorization?: string; apiKey?: string }) => Promise<Principal | null>;

/**
 * Bearer JWT (HS256 secret or JWKS) with a `role` claim, or an API key from API_KEYS.
 * No credentials → null; bad credentials → UNAUTHENTICATED.
 */
export function createAuthenticator(auth: Config['auth']): Authenticator {
  const secret = auth.jwtSecret ? new TextEncoder().encode(auth.jwtSecret) : null;
  const jwks = auth.jwksUrl ? createRemoteJWKSet(new URL(auth.jwksUrl)) : null;

  const verifyJwt = async (token: string): Promise<JWTPayload> => {
    const options = { issuer: auth.jwtIssuer, audience: auth.jwtAudience };
    if (secret) return (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
    if (jwks) return (await jwtVerify(token, jwks, options)).payload;
    throw new Error('JWT authentication is not configured');
  };

  return async ({ authorization, apiKey }) => {
    const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    const key = apiKey ?? authorization?.match(/^ApiKey\s+(.+)$/i)?.[1]?.trim();
    if (key) {
      const match = auth.apiKeys.find((k) => sameSecret(k.key, key));
      if (!match) throw AppError.unauthenticated('Invalid API key');
      return { kind: 'apikey', subject: match.name, role: match.role };
    }
    if (!bearer) return null;
    let claims: JWTPayload;
    try {
      claims = await verifyJwt(bearer);
    } catch {
      throw AppError.unauthenticated('Invalid or expired token');
    }
    const role = claims.role as PrincipalRole | undefined;
    if (!claims.sub || !role || !['ADMIN', 'OPERATOR', 'VIEWER', 'CUSTOMER'].includes(role)) {
      throw AppError.unauthenticated('Token needs a sub and a role of ADMIN, OPERATOR, VIEWER or CUSTOMER');
    }
    const expiresAt = typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined;
    return { kind: role === 'CUSTOMER' ? 'customer' : 'operator', subject: claims.sub, role, expiresAt };
  };
}

/** `@Authorized('OPERATOR')`: at least that role. Throws coded errors rather than returning false. */
export const authChecker: AuthChecker<{ principal: Principal | null; authError?: AppError | null }, PrincipalRole> = ({ context }, roles) => {
  const principal = context.principal;
  // Credentials that were sent but refused say why ("Invalid API key"), not just that none were sent.
  if (!principal) throw context.authError ?? AppError.unauthenticated();
  if (roles.length === 0 || roles.some((role) => hasRole(principal, role))) return true;
  throw AppError.forbidden(`Requires role ${roles.join(' or ')}`);
};
