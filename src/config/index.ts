export type { ConfigErrorCode } from './error-codes.ts';
export {
  ConfigInvalidError,
  loadServerConfig,
  type ServerConfig,
  serverConfigSchema,
} from './server-config.ts';
