export { type ActResult, actAgent, trustRules } from './act/index.ts';
