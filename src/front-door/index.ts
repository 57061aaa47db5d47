/** The bus as a front door: every agent of a runtime reachable on `agent.<tenant>.<id>.inbox`. */
export { BusFrontDoor, type BusFrontDoorOptions } from './bus-front-door.ts';
export type { FrontDoorErrorCode } from './error-codes.ts';
export { IngressOverloadedError, IngressRequestInvalidError, IngressTenantMismatchError } from './errors.ts';
export { INBOX_PATTERN, inboxTopic, parseInboxTopic, SYSTEM_TENANT_TOKEN } from './inbox-topic.ts';
export { RUNS_PATTERN, RunsDoor, type RunsDoorOptions } from './runs-door.ts';
export type { StreamPart } from './stream-part.ts';
