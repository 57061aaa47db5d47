export { type ErrorCode, STATUS_BY_CODE, statusFor } from './http-errors.ts';
export { AgentfleetServer, type HttpServerOptions } from './http-server.ts';
export { type RunningServer, startServer } from './start-server.ts';
