import { assertTopic, InvalidTopicError } from '../bus/index.ts';

/** Token standing for "no tenant" (the system scope) in an inbox topic; never served, see `BusFrontDoor`. */
export const SYSTEM_TENANT_TOKEN = '_';

/** The pattern the front door subscribes to: every tenant's every agent, one subscription. */
export const INBOX_PATTERN = 'agent.*.*.inbox';

/**
 * The inbox topic of `tenant`'s agent `id`: `agent.<tenant>.<id>.inbox`. Both must be bus
 * tokens (letters, digits, `_ - : @`; see src/bus/topic.ts), which map one-to-one onto NATS
 * subjects and MQTT levels; an agent whose id is not a token (it holds a `.`, a space, …) is
 * not addressable on the bus and stays reachable over HTTP only.
 * @throws InvalidTopicError (`INVALID_TOPIC`) for a tenant or id that is not a token.
 */
export function inboxTopic(tenant: string, id: string): string {
  if (!isAddressable(tenant) || tenant === SYSTEM_TENANT_TOKEN)
    throw new InvalidTopicError(tenant, 'the tenant id is not a topic token');
  if (!isAddressable(id)) throw new InvalidTopicError(id, 'the agent id is not a topic token');
  const topic = `agent.${tenant}.${id}.inbox`;
  assertTopic(topic);
  return topic;
}

const TOKEN = /^[A-Za-z0-9_\-:@]+$/;

function isAddressable(value: string): boolean {
  return value.length <= 64 && TOKEN.test(value);
}

/** The tenant and agent id an inbox topic names, or undefined when it is no inbox topic. */
export function parseInboxTopic(topic: string): { tenant: string; id: string } | undefined {
  const first = topic.indexOf('.');
  const second = topic.indexOf('.', first + 1);
  const third = topic.indexOf('.', second + 1);
  if (first !== 5 || second < 0 || third < 0 || topic.slice(0, 5) !== 'agent') return undefined;
  if (topic.slice(third) !== '.inbox') return undefined;
  const tenant = topic.slice(first + 1, second);
  const id = topic.slice(second + 1, third);
  if (tenant.length === 0 || id.length === 0) return undefined;
  return { tenant, id };
}
