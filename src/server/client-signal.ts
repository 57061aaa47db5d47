import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Whether the client of a request is gone: its connection closed, reset or destroyed.
 * (Not `req.destroyed`: reading a body to its end destroys the request stream.)
 */
export function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  return res.destroyed || req.socket?.destroyed === true;
}

/**
 * A signal aborted when the client goes away before the response is finished, so the work
 * done for it (a model call, an agent step) is cancelled. Already aborted for a client that
 * left while the request was being authenticated.
 */
export function clientSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  };
  if (clientGone(req, res)) onClose();
  else {
    res.once('close', onClose);
    req.once('error', onClose);
  }
  return controller.signal;
}
