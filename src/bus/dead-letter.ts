/** Why a message went to the dead-letter topic. */
export type DeadLetterReason = 'MESSAGE_UNDECODABLE' | 'MESSAGE_TOO_LARGE' | 'HANDLER_FAILED';

/** The payload published on the dead-letter topic, and emitted as the bus's `deadLetter` event. */
export interface DeadLetter {
  reason: DeadLetterReason;
  /** What went wrong, for a human. */
  message: string;
  /** The topic it arrived on. */
  topic: string;
  /** Its size in bytes (wire transports), or undefined. */
  size: number | undefined;
  /** The first bytes (at most 4 KiB, less on buses with small messages), base64, so the sender can be found. */
  sample: string | undefined;
  /** The envelope id, when the message could be decoded. */
  id: string | undefined;
}

/**
 * Builds a dead letter for raw bytes that could not be turned into an envelope. The sample is
 * capped at a quarter of `maxMessageBytes` (and 4 KiB), so the letter itself always fits on the bus.
 */
export function rawDeadLetter(
  reason: DeadLetterReason,
  message: string,
  topic: string,
  data: Uint8Array,
  maxMessageBytes: number,
): DeadLetter {
  const sampleBytes = Math.min(data.byteLength, 4096, Math.floor(maxMessageBytes / 4));
  const sample = Buffer.from(data.buffer, data.byteOffset, sampleBytes).toString('base64');
  return { reason, message, topic, size: data.byteLength, sample, id: undefined };
}
