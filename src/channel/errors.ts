import { AgentfleetError } from '../errors/index.ts';

/** A send on a closed channel, or a sender that was waiting when the channel closed. */
export class ChannelClosedError extends AgentfleetError {
  constructor() {
    super('CHANNEL_CLOSED', 'The channel is closed and takes no more values; stop sending to it.');
  }
}
