export {
  type ErrorCode,
  type HttpErrorCode,
  type ServerErrorCode,
  STATUS_BY_CODE,
  statusFor,
} from './http-errors.ts';
export { AgentfleetServer, type HttpServerOptions } from './http-server.ts';
export { type RunningServer, serve, startServer } from './serve.ts';
