/**
 * The queue group a subscription joins on the transport: one group per (queue, tenant), so a
 * message is only ever handed to a member of its own tenant (a member of another tenant would
 * have to drop it, and the message would be lost to its own tenant). Members with no tenant
 * (system scope) form a group of their own that gets every tenant's messages. Queue names and
 * tenant ids contain no `.`, so `<queue>.<tenant>` cannot collide with another queue's name;
 * it is a valid NATS queue name and MQTT share name.
 */
export function queueGroup(queue: string, tenant: string | undefined): string {
  return tenant === undefined ? queue : `${queue}.${tenant}`;
}
