import { AgentfleetError } from '../errors/index.ts';
import type { KnowledgeErrorCode } from './error-codes.ts';

/** Where the damage is and what to do about it, for operators and logs. */
export interface CorruptDetails extends Record<string, unknown> {
  /** Absolute path of the damaged file. */
  file: string;
  /** 1-based line of the damaged record, when the file is line-structured. */
  line?: number;
  /** Byte offset where the damaged record starts. */
  offset?: number;
  /** What the operator should do. */
  hint: string;
}

const HINT =
  'The store is not opened so that nothing is silently lost. Restore the directory from a backup, ' +
  'or move the damaged file aside to start without the records it holds (documents can be re-ingested).';

/**
 * The store on disk is damaged (a bad checksum, a missing or cut record, malformed data) —
 * not a torn last write, which is expected after a crash and dropped. `details` says where.
 */
export class KnowledgeStoreCorruptError extends AgentfleetError<KnowledgeErrorCode> {
  declare readonly details: CorruptDetails;
  constructor(problem: string, where: Omit<CorruptDetails, 'hint'> & { hint?: string }, cause?: unknown) {
    const at = [
      where.line === undefined ? '' : ` line ${where.line}`,
      where.offset === undefined ? '' : ` (byte ${where.offset})`,
    ].join('');
    const hint = where.hint ?? HINT;
    super('KNOWLEDGE_STORE_CORRUPT', `Knowledge store damaged: ${where.file}${at}: ${problem}. ${hint}`, {
      cause,
      details: { ...where, problem, hint },
    });
  }
}

/** Another knowledge base (this process or another, e.g. a second `--workers` process) holds the store. */
export class KnowledgeStoreLockedError extends AgentfleetError<KnowledgeErrorCode> {
  constructor(directory: string, pid: number, hostname: string, lockFile: string) {
    super(
      'KNOWLEDGE_STORE_LOCKED',
      `The knowledge store ${directory} is in use by process ${pid} on ${hostname}. One process at a time ` +
        `may open it: give each process its own directory (AGENTFLEET_KNOWLEDGE_DIR), or, if no process ` +
        `${pid} uses it, remove ${lockFile}.`,
      { details: { directory, pid, hostname, lockFile } },
    );
  }
}
