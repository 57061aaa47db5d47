/**
 * The three `rate-limiter-flexible` classes the fixed window uses, each from its own file:
 * the package's index also loads its cluster, Mongo, MySQL, DynamoDB, … limiters and with
 * them `node:cluster`, which importing `agentfleet` must not (test/root-import.test.ts).
 */
import { createRequire } from 'node:module';
import type * as Flexible from 'rate-limiter-flexible';

const require = createRequire(import.meta.url);

/** The in-memory fixed window. */
export const RateLimiterMemory: typeof Flexible.RateLimiterMemory = require('rate-limiter-flexible/lib/RateLimiterMemory.js');
/** The Redis fixed window (atomic per key). */
export const RateLimiterRedis: typeof Flexible.RateLimiterRedis = require('rate-limiter-flexible/lib/RateLimiterRedis.js');
/** A refusal: how many points are left and how long until the window resets. */
export const RateLimiterRes: typeof Flexible.RateLimiterRes = require('rate-limiter-flexible/lib/RateLimiterRes.js');
