import type { IncomingMessage, ServerResponse } from 'node:http';
import { currentTenantId } from '../../context/index.ts';
import { eventIdInvalid, isFinished, type RunEvent, type RunService } from '../../runs/index.ts';
import { EventStream, type EventStreamOptions, partEventName } from '../event-stream.ts';
import { errorJson } from '../http-errors.ts';

/** How often the store is read for events this node was not told of (a run on another node), ms. */
const POLL_MS = 500;
/** Events read from the store at a time; the stream waits for the client to drain between pages. */
const PAGE = 100;
/** Polls between keep-alive comments (15 s), so proxies keep an idle stream open. */
const HEARTBEAT_POLLS = 30;

/**
 * The event a client resumes after: `Last-Event-ID` (a reconnect) or `?after=` (the header
 * wins), else 0 (from the start).
 * @throws RunsError `EVENT_ID_INVALID` for a value that is not an integer or is past the run's last event.
 */
export function resumeAfter(runId: string, value: string | undefined, lastSeq: number): number {
  if (value === undefined) return 0;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed) || Number(trimmed) > lastSeq) throw eventIdInvalid(runId, value, lastSeq);
  return Number(trimmed);
}

/** Whether a checkpoint event is a run's last: its finish, or a status it never leaves. */
function endsRun(event: RunEvent): boolean {
  return event.body.type === 'finish' || (event.body.type === 'status' && isFinished(event.body.status));
}

/**
 * Streams a run's events as SSE: first the stored checkpoint events after `after` (each
 * `id: <seq>`, `event: <type>`, data the event), then new ones as they are appended, and
 * the parts this node streams live (`event: <part type>`, no id: a reconnect resumes from the
 * last stored event, so it gets stored events again, not missed text deltas). The store is
 * also read every 500 ms, for a run that runs on another node. Ends once the run is finished
 * and its last event sent. A slow client is bounded by the stream's limits: replay waits for
 * it to drain between pages, and one that leaves too much unread is dropped.
 * @throws RunsError `RUN_NOT_FOUND` (also for another tenant's run), `EVENT_ID_INVALID`.
 */
export async function streamRunEvents(
  req: IncomingMessage,
  res: ServerResponse,
  runs: RunService,
  runId: string,
  after: string | undefined,
  options: EventStreamOptions,
): Promise<void> {
  const run = await runs.get(runId);
  let last = resumeAfter(runId, after, run.seq);
  const stream = EventStream.open(req, res, options);
  if (stream === undefined) return;
  stream.comment('connected'); // sends the headers now, even when nothing is to replay
  const tenant = currentTenantId();
  const store = runs.store;

  /** Sends the next stored event; false for one that is not next (already sent, or past a gap). */
  const sendStored = (event: RunEvent): boolean => {
    if (event.seq !== last + 1 || !stream.open) return false;
    last = event.seq;
    stream.send(event.body.type, event, event.seq);
    if (endsRun(event)) stream.close();
    return true;
  };
  /** Sends what the store holds after `last`, a page at a time, waiting for the client between pages. */
  const catchUp = async (): Promise<void> => {
    while (stream.open) {
      const page = await store.events(tenant, runId, last, PAGE);
      for (const event of page) if (!sendStored(event)) break;
      if (page.length < PAGE || !(await stream.ready())) return;
    }
  };
  /** Catches up; ends the stream when the run is finished (or gone: swept, or its tenant deleted). */
  const pump = async (): Promise<void> => {
    await catchUp();
    if (!stream.open) return;
    const header = await store.get(tenant, runId);
    if (header !== undefined && !isFinished(header.status)) return;
    await catchUp(); // what was appended between the read of the events and the header's
    stream.close();
  };

  let busy = false;
  let again = false;
  const schedule = (): void => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    void (async () => {
      try {
        do {
          again = false;
          await pump();
        } while (again && stream.open);
      } catch (error) {
        stream.send('error', { error: errorJson(error) });
        stream.close();
      } finally {
        busy = false;
      }
    })();
  };

  const unwatch = runs.watch(runId, (event) => {
    if (!('live' in event)) {
      if (busy || !sendStored(event)) schedule();
      return;
    }
    // Live parts only once caught up: replayed history is not interleaved with today's deltas.
    const part = event.live as { type?: unknown; name?: unknown } | null;
    if (!busy && typeof part?.type === 'string') stream.send(partEventName(part as { type: string }), part);
  });
  let polls = 0;
  const timer = setInterval(() => {
    if (++polls % HEARTBEAT_POLLS === 0) stream.comment('keep-alive');
    schedule();
  }, POLL_MS);
  try {
    schedule();
    await stream.ended;
  } finally {
    clearInterval(timer);
    unwatch();
  }
}
