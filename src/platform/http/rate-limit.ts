import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import type { Config } from '../config';
import type { Authenticator, Principal } from '../graphql/auth';

/**
 * Rate limits on the public routes, with express-rate-limit. Counters live in each instance's
 * memory: a limit is per instance, and losing the counters on restart loses nothing of record.
 * The source IP is `req.ip`, so TRUST_PROXY must name the proxies allowed to set X-Forwarded-For;
 * trusting every hop would let a client pick its own IP and its own bucket.
 */
const passThrough: RequestHandler = (_req, _res, next) => next();

const sourceIp = (req: Request): string => `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;

function common(settings: Config['rateLimit'], limit: number, route: string): Partial<Options> {
  return {
    windowMs: settings.windowMs,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // 429 with Retry-After (counted by the route metrics as any response): Stripe and Telegram both
    // deliver again later, so a limited webhook loses nothing.
    handler: (_req, res, _next, options) => {
      res.status(options.statusCode).json(route === '/graphql'
        ? { errors: [{ message: 'Too many requests; please slow down', extensions: { code: 'RATE_LIMITED' } }] }
        : { error: 'Too many requests; please retry later' });
    },
  };
}

/** Webhooks, by source IP. */
export function webhookRateLimit(settings: Config['rateLimit']): RequestHandler {
  if (settings.webhookMax === 0) return passThrough;
  return rateLimit({ ...common(settings, settings.webhookMax, '/webhooks'), keyGenerator: sourceIp });
}

/** Who a GraphQL operation counts against: a customer, a source IP, or (staff) nobody. */
export function customerRateKey(principal: Principal | null, ip: string): string | null {
  if (!principal) return `ip:${ipKeyGenerator(ip)}`;
  return principal.role === 'CUSTOMER' ? `customer:${principal.subject}` : null;
}

export interface CustomerRateLimit {
  /** For /graphql over HTTP. */
  middleware: RequestHandler[];
  /** One operation over WebSocket: false once the key has spent its budget. Same counters as HTTP. */
  allow(key: string | null): Promise<boolean>;
}

/**
 * GraphQL as customers use it: a request with a customer token counts against that customer; one
 * without valid credentials counts against its source IP. Staff credentials are not limited here
 * (they are few, known, and have depth and complexity limits). HTTP requests and WebSocket
 * operations draw on the same budget, so opening a socket is no way around it.
 */
export function customerRateLimit(settings: Config['rateLimit'], authenticate: Authenticator): CustomerRateLimit {
  if (settings.customerMax === 0) return { middleware: [passThrough], allow: async () => true };
  const store = new MemoryStore();
  const identify = async (req: Request, res: Response, next: NextFunction) => {
    let key: string | null;
    try {
      const principal = await authenticate({ authorization: req.header('authorization'), apiKey: req.header('x-api-key') });
      key = customerRateKey(principal, req.ip ?? req.socket.remoteAddress ?? 'unknown');
    } catch {
      key = sourceIp(req);
    }
    res.locals.rateLimitKey = key;
    next();
  };
  const limiter = rateLimit({
    ...common(settings, settings.customerMax, '/graphql'),
    store,
    skip: (_req, res) => !res.locals.rateLimitKey,
    keyGenerator: (_req, res) => String(res.locals.rateLimitKey),
  });
  return {
    middleware: [identify, limiter],
    allow: async (key) => {
      if (!key) return true;
      const { totalHits } = await store.increment(key);
      return totalHits <= settings.customerMax;
    },
  };
}
