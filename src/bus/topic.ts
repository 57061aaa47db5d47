import { InvalidTopicError } from './errors.ts';

/**
 * Topics are dotted tokens (`agent.42.state_delta`), NATS-style. A token is letters, digits,
 * `_`, `-`, `:` or `@` — nothing that means something to NATS or MQTT (`. * > / + # $` and
 * spaces), so every topic maps losslessly onto both. Patterns may use `*` for one token and a
 * final `>` for one or more remaining tokens.
 */
const TOKEN = /^[A-Za-z0-9_\-:@]+$/;

/** Longest topic accepted, in characters. */
export const MAX_TOPIC_LENGTH = 255;

/** Throws `INVALID_TOPIC` unless `topic` is a concrete topic (no wildcards). */
export function assertTopic(topic: string): void {
  checkTokens(topic, false);
}

/** Throws `INVALID_TOPIC` unless `pattern` is a topic or a wildcard pattern. */
export function assertPattern(pattern: string): void {
  checkTokens(pattern, true);
}

function checkTokens(value: string, wildcards: boolean): void {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidTopicError(String(value), 'it is empty');
  if (value.length > MAX_TOPIC_LENGTH)
    throw new InvalidTopicError(value, `it is longer than ${MAX_TOPIC_LENGTH} characters`);
  const tokens = value.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (TOKEN.test(token)) continue;
    if (wildcards && token === '*') continue;
    if (wildcards && token === '>') {
      if (i === tokens.length - 1) continue;
      throw new InvalidTopicError(value, '">" may only be the last token');
    }
    if (token === '') throw new InvalidTopicError(value, 'it has an empty token');
    throw new InvalidTopicError(
      value,
      wildcards
        ? `token "${token}" is not a name, "*" or ">"`
        : `token "${token}" is not a name (wildcards are only for subscriptions)`,
    );
  }
}

/** True when `topic` matches `pattern` (`*` one token, trailing `>` one or more tokens). */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern === topic) return true;
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return t.length > i;
    if (i >= t.length) return false;
    if (token !== '*' && token !== t[i]) return false;
  }
  return p.length === t.length;
}

/** True when the pattern has a wildcard token. */
export function isWildcard(pattern: string): boolean {
  return (
    pattern === '*' ||
    pattern === '>' ||
    pattern.includes('.*') ||
    pattern.startsWith('*.') ||
    pattern.endsWith('.>')
  );
}
