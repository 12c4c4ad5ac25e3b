/** Who may call the HTTP API and how much: authentication, GraphQL limits, rate limits. */
import { parseApiKeys, type ApiKey, type Reader } from './reader';

export interface AuthConfig {
  jwtSecret?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  apiKeys: ApiKey[];
}

export interface GraphqlConfig {
  maxDepth: number;
  maxComplexity: number;
  /** Fields selected once fragments are expanded. */
  maxFields: number;
  /** Lexical tokens in one document: parsing stops there. */
  maxTokens: number;
  introspection: boolean;
}

export interface RateLimitConfig {
  windowMs: number;
  webhookMax: number;
  customerMax: number;
}

export function authConfig(r: Reader, production: boolean): AuthConfig {
  const auth = {
    jwtSecret: r.str('AUTH_JWT_SECRET'),
    jwksUrl: r.url('AUTH_JWKS_URL'),
    jwtIssuer: r.str('AUTH_JWT_ISSUER'),
    jwtAudience: r.str('AUTH_JWT_AUDIENCE'),
    apiKeys: parseApiKeys(r.str('API_KEYS'), r.problems),
  };
  if (production && !auth.jwtSecret && !auth.jwksUrl && auth.apiKeys.length === 0) {
    r.problems.push('AUTH_JWT_SECRET, AUTH_JWKS_URL or API_KEYS is required in production');
  }
  if (auth.jwtSecret && auth.jwtSecret.length < 32) r.problems.push('AUTH_JWT_SECRET must be at least 32 characters');
  return auth;
}

export function graphqlConfig(r: Reader, production: boolean): GraphqlConfig {
  return {
    maxDepth: r.int('GRAPHQL_MAX_DEPTH', 10, 2, 50),
    maxComplexity: r.int('GRAPHQL_MAX_COMPLEXITY', 1000, 10, 100000),
    maxFields: r.int('GRAPHQL_MAX_FIELDS', 2000, 10, 100000),
    maxTokens: r.int('GRAPHQL_MAX_TOKENS', 10000, 100, 1_000_000),
    introspection: r.bool('GRAPHQL_INTROSPECTION', !production),
  };
}

export function rateLimitConfig(r: Reader): RateLimitConfig {
  return {
    windowMs: r.int('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 3600) * 1000,
    webhookMax: r.int('RATE_LIMIT_WEBHOOK_MAX', 1200, 0, 1_000_000),
    customerMax: r.int('RATE_LIMIT_CUSTOMER_MAX', 120, 0, 1_000_000),
  };
}
