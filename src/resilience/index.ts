export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStateChange,
} from './circuit-breaker.ts';
export {
  CallTimeoutError,
  CircuitOpenError,
  type LimiterUnavailableReason,
  RateLimitedError,
  RateLimiterUnavailableError,
  ResilienceConfigError,
} from './errors.ts';
export {
  parseResiliencePolicy,
  ResiliencePolicy,
  type ResiliencePolicyConfig,
  type ResiliencePolicyEvents,
  type ResilienceStats,
  resiliencePolicies,
  resiliencePolicySchema,
} from './policy.ts';
export {
  createRateLimiter,
  type RateLimitConfig,
  type RateLimiter,
  type RateLimiterOptions,
} from './rate-limiter.ts';
export {
  type FallbackChainOptions,
  type FallbackStep,
  fallbackChain,
  streamThrough,
  withResilience,
} from './resilient-provider.ts';
export { isRetryableByDefault, type RetryInfo, type RetryOptions, RetryPolicy } from './retry.ts';
export { withTimeout } from './timeout.ts';
