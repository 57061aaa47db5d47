import { Worker } from 'node:worker_threads';
import { AbortedError, AgentfleetError } from '../errors/index.ts';

/** What the hashing worker is started with. */
export interface EmbedWorkerData {
  dimensions: number;
  charNgrams: number[];
}

interface Job {
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: unknown) => void;
  count: number;
}

/**
 * One worker thread that runs `HashingEmbedder.embedOne` over batches, so embedding a large
 * document does not block the event loop. Started on first use; it keeps the process alive
 * only while a batch is in flight; `close()` ends it.
 */
export class EmbedWorker {
  readonly #data: EmbedWorkerData;
  #worker: Worker | undefined;
  readonly #jobs = new Map<number, Job>();
  #seq = 0;
  #closed = false;

  constructor(data: EmbedWorkerData) {
    this.#data = data;
  }

  /** Worker threads alive (0 or 1). */
  get running(): number {
    return this.#worker === undefined ? 0 : 1;
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.#closed)
      return Promise.reject(new AgentfleetError('EMBEDDER_CLOSED', 'The embedder is closed.'));
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const worker = this.#start();
    const id = ++this.#seq;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const onAbort = () => {
        this.#finish(id);
        reject(new AbortedError()); // the batch runs to its end in the worker; its result is dropped
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.#jobs.set(id, {
        count: texts.length,
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      if (this.#jobs.size === 1) worker.ref();
      worker.postMessage({ id, texts });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll(new AgentfleetError('EMBEDDER_CLOSED', 'The embedder was closed during the batch.'));
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const url = new URL(
      import.meta.url.endsWith('.ts') ? './hashing-worker.ts' : './hashing-worker.js',
      import.meta.url,
    );
    const worker = new Worker(url, { workerData: this.#data });
    worker.unref();
    worker.on('message', ({ id, data }: { id: number; data: Float32Array }) => {
      const job = this.#jobs.get(id);
      if (job === undefined) return;
      this.#finish(id);
      const d = this.#data.dimensions;
      job.resolve(Array.from({ length: job.count }, (_, i) => data.subarray(i * d, (i + 1) * d)));
    });
    const broken = (error: unknown) => {
      if (this.#worker === worker) this.#worker = undefined; // the next batch starts a new one
      this.#failAll(error);
    };
    worker.on('error', broken);
    worker.on('exit', (code) =>
      broken(new AgentfleetError('EMBEDDER_FAILED', `The embedding thread exited (${code}).`)),
    );
    this.#worker = worker;
    return worker;
  }

  #finish(id: number): void {
    this.#jobs.delete(id);
    if (this.#jobs.size === 0) this.#worker?.unref();
  }

  #failAll(error: unknown): void {
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    this.#worker?.unref();
    for (const job of jobs) job.reject(error);
  }
}
