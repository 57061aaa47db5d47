// Runs the fake vendor in its own process (for benchmarks): prints {"url"} once listening.
// Usage: node test/vendors/main.ts [--port N] [--latency MS]
import { startVendorServer } from './server.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : Number(process.argv[i + 1]);
};
const server = await startVendorServer({
  port: arg('--port') ?? 0,
  latencyMs: arg('--latency') ?? 0,
  record: false,
});
console.log(JSON.stringify({ url: server.url }));
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
