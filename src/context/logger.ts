import { trace } from '@opentelemetry/api';
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';
import { currentTenantId } from './tenant-context.ts';

/** Field paths whose values never reach a log line: keys, tokens, passwords. */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'adminKey',
  '*.adminKey',
  'apiKey',
  '*.apiKey',
  'key',
  '*.key',
  'password',
  '*.password',
  'connectionString',
  '*.connectionString',
];

/** Options of `createLogger`. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go. Default stdout. */
  destination?: DestinationStream;
}

/**
 * A pino logger for Agentfleet: JSON lines with `pid`, and on every line written inside a
 * traced operation its `trace_id` and `span_id`, inside a tenant's work its `tenant`.
 * Secrets (API keys, Authorization headers, passwords, connection strings) are redacted.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      mixin() {
        const fields: Record<string, string> = {};
        const span = trace.getActiveSpan();
        if (span !== undefined && trace.isSpanContextValid(span.spanContext())) {
          const c = span.spanContext();
          fields.trace_id = c.traceId;
          fields.span_id = c.spanId;
        }
        const tenant = currentTenantId();
        if (tenant !== undefined) fields.tenant = tenant;
        return fields;
      },
    },
    options.destination,
  );
}
