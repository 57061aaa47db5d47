/**
 * Agentfleet: a runtime for running very many AI agents at once on Node.js.
 * This file is the package's public surface; each capability's own index.ts is re-exported here.
 */
export * from './agents/index.ts';
export * from './bus/index.ts';
export * from './channel/index.ts';
export * from './config/index.ts';
export * from './context/index.ts';
export * from './core/index.ts';
export * from './errors/index.ts';
export * from './knowledge/index.ts';
export * from './llm/index.ts';
export * from './llm-agent/index.ts';
export * from './models/index.ts';
export * from './observability/index.ts';
export * from './pool/index.ts';
export * from './resilience/index.ts';
export * from './rules/index.ts';
export * from './server/index.ts';
export * from './state/index.ts';
export * from './tenancy/index.ts';
export * from './tools/index.ts';
