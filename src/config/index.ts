export {
  ConfigInvalidError,
  loadServerConfig,
  type ServerConfig,
  serverConfigSchema,
} from './server-config.ts';
