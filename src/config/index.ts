export type { ConfigErrorCode } from './error-codes.ts';
export { FILE_PATHS, type LoadNodeConfigOptions, loadNodeConfig } from './load-node-config.ts';
export {
  ConfigInvalidError,
  ENV_NAMES,
  loadServerConfig,
  type ServerConfig,
  type ServerConfigInput,
  type SettingSource,
  serverConfigSchema,
  validateConfig,
} from './server-config.ts';
