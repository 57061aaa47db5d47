export { setupTracing, type TracingHandle, type TracingOptions } from './tracing-setup.ts';
