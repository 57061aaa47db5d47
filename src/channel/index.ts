export { Channel, type WaitOptions } from './channel.ts';
export type { ChannelErrorCode } from './errors.ts';
export { ChannelClosedError } from './errors.ts';
export {
  type RecvCase,
  type SelectCase,
  type SelectOptions,
  type SelectResult,
  type SendCase,
  select,
  trySelect,
} from './select.ts';
export { DONE, type RecvResult } from './waiter.ts';
