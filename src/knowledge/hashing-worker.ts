// The thread behind `EmbedWorker`: embeds each batch with a `HashingEmbedder` of the same
// settings and sends the vectors back in one transferred buffer.
import { parentPort, workerData } from 'node:worker_threads';
import type { EmbedWorkerData } from './embed-worker.ts';
import { HashingEmbedder } from './embedder.ts';

const { dimensions, charNgrams } = workerData as EmbedWorkerData;
const embedder = new HashingEmbedder({ dimensions, charNgrams, offloadChars: Number.POSITIVE_INFINITY });
parentPort!.on('message', ({ id, texts }: { id: number; texts: string[] }) => {
  const data = new Float32Array(texts.length * dimensions);
  for (let i = 0; i < texts.length; i++) data.set(embedder.embedOne(texts[i]!), i * dimensions);
  parentPort!.postMessage({ id, data }, [data.buffer]);
});
