// Baseline for the /act benchmark: the seed's /act on bare node:http, same JSON and headers,
// no runtime, no router. `--workers N` forks N processes with node:cluster like ours.
import cluster from 'node:cluster';
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 8081);
const workers = Number(process.argv[3] ?? 1);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const server = createServer((req, res) => {
    const trusted = req.headers['x-trusted'] === 'true';
    const body = JSON.stringify({
      status: trusted ? 'EXECUTED' : 'REJECTED',
      reason: trusted ? 'Auth passed' : 'Missing trust header',
      timestamp: Math.floor(Date.now() / 1000),
    });
    res.writeHead(200, [
      'content-type',
      'application/json; charset=utf-8',
      'content-length',
      String(Buffer.byteLength(body)),
    ]);
    res.end(body);
  });
  server.keepAliveTimeout = 5_000;
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
