/**
 * Rate limits of the ingest API, with `@fastify/rate-limit`'s fixed-window
 * counters (in memory, per server; IPv6 clients counted per /64):
 *
 * - per client IP, every request under the ingest prefix (preflights, logins,
 *   refreshes, uploads): {@link RateLimitOptions.perIp};
 * - per client IP, logins only (each creates a session row): {@link RateLimitOptions.logins};
 * - per user, uploads: {@link RateLimitOptions.perUser}.
 *
 * Over a limit the answer is 429 `rate-limited` with `Retry-After` (whole
 * seconds until the window ends, at least 1), which the service worker
 * honours as the least time before it retries. Behind a proxy or load
 * balancer, set `trustProxy` so that the client's address, not the proxy's,
 * is counted.
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { sendError } from './errors.js';

/** Requests allowed per window; 0 turns a limit off. */
export interface RateLimitOptions {
  /** Requests per client IP. @default 6000 */
  perIp: number;
  /** Uploads per user. @default 6000 */
  perUser: number;
  /** Logins (anonymous, API key, JWT) per client IP. @default 120 */
  logins: number;
  /** The window, in ms. @default 60000 */
  windowMs: number;
}

/**
 * Defaults: generous for real clients (a service worker keeps at most two
 * uploads in flight, and the fastest measured drain is ~60 uploads/s), low
 * enough to bound a flood from one address or one token.
 */
export const DEFAULT_RATE_LIMITS: RateLimitOptions = { perIp: 6000, perUser: 6000, logins: 120, windowMs: 60_000 };

/** The hooks of {@link installRateLimits}; a limit that is off is a no-op hook. */
export interface RateLimitHooks {
  perIp: onRequestAsyncHookHandler;
  perUser: onRequestAsyncHookHandler;
  logins: onRequestAsyncHookHandler;
}

const noop: onRequestAsyncHookHandler = async () => {};

/**
 * Registers `@fastify/rate-limit` (no global limit) on the ingest context
 * and builds one hook per limit. The per-user hook must run after
 * authentication (it counts `request.userId`).
 *
 * @param app - the ingest plugin context
 * @param limits - see {@link RateLimitOptions}
 */
export async function installRateLimits(app: FastifyInstance, limits: RateLimitOptions): Promise<RateLimitHooks> {
  await app.register(fastifyRateLimit, { global: false });
  const hook = (max: number, what: string, keyGenerator?: (req: FastifyRequest) => string): onRequestAsyncHookHandler => {
    if (max <= 0) return noop;
    const check = app.createRateLimit({
      max, timeWindow: limits.windowMs, ...(keyGenerator === undefined ? {} : { keyGenerator }),
      // Read by the in-memory store of each limiter (an LRU): distinct clients tracked at once.
      cache: 100_000,
    } as Parameters<FastifyInstance['createRateLimit']>[0]);
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const result = await check(request);
      if (result.isAllowed || !result.isExceeded) return undefined;
      const seconds = Math.max(1, result.ttlInSeconds);
      reply.header('retry-after', String(seconds));
      return sendError(reply, 'rate-limited', { message: `Too many ${what}; retry in ${seconds} s.` });
    };
  };
  return {
    perIp: hook(limits.perIp, 'requests from this address'),
    logins: hook(limits.logins, 'logins from this address'),
    perUser: hook(limits.perUser, 'uploads by this user', (req) => `user:${req.userId}`),
  };
}
