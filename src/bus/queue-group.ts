// Names that make a shared delivery per tenant. A queue group or a durable consumer shared by
// members of several tenants would hand a message to a member of another tenant, which must
// drop it, so the message is lost to its own tenant. Naming the group or consumer per tenant
// means every member of one is of one tenant. Members with no tenant (system scope) keep the
// plain name and form a group of their own that gets every tenant's messages.

/**
 * The queue group on the transport: `<queue>.<tenant>`. Queue names and tenant ids contain no
 * `.`, so it cannot collide with another queue's name; it is a valid NATS queue name and MQTT
 * share name.
 */
export function queueGroup(queue: string, tenant: string | undefined): string {
  return tenant === undefined ? queue : `${queue}.${tenant}`;
}

/**
 * The JetStream consumer of a durable subscription: `<name>@<tenant>`. Durable names and tenant
 * ids contain no `@`, so it cannot collide with another name; the dedupe bucket follows it.
 */
export function durableName(name: string, tenant: string | undefined): string {
  return tenant === undefined ? name : `${name}@${tenant}`;
}
