// Bus topics and patterns are NATS-shaped (`a.b.c`, `*` one token, `>` the rest); MQTT uses
// `/` between levels, `+` for one level and `#` for the rest. Bus tokens never contain `/`,
// `+`, `#` or `$`, so the mapping is one-to-one for every valid bus topic.

/** `a.b.c` → `a/b/c`. */
export function toMqttTopic(topic: string): string {
  return topic.replaceAll('.', '/');
}

/** `a.*.>` → `a/+/#`. */
export function toMqttFilter(pattern: string): string {
  return pattern
    .split('.')
    .map((token) => (token === '*' ? '+' : token === '>' ? '#' : token))
    .join('/');
}

/** `a/b/c` → `a.b.c`. */
export function fromMqttTopic(topic: string): string {
  return topic.replaceAll('/', '.');
}
