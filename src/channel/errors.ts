import { AgentfleetError } from '../errors/index.ts';

/** A send on a closed channel, or a sender that was waiting when the channel closed. */
export class ChannelClosedError extends AgentfleetError<ChannelErrorCode> {
  constructor() {
    super('CHANNEL_CLOSED', 'The channel is closed and takes no more values; stop sending to it.');
  }
}

/** Stable codes of the errors channels throws (each has an HTTP status in the server's table). */
export type ChannelErrorCode = 'CHANNEL_CLOSED';
