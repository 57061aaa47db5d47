import { Worker } from 'node:worker_threads';
import { AgentfleetError } from '../../errors/index.ts';
import type { Kernels } from './kernels.ts';
import { JOB, KERNEL_CODES, kernelByCode, type ScanKernel } from './scan-protocol.ts';

/** Below this many rows a scan stays on the calling thread: waking threads costs more. */
const MIN_PARALLEL_ROWS = 16_384;
/** A scan thread that has not answered in this long is broken. */
const WAIT_MS = 30_000;

/**
 * Splits a full scan of the rows across threads sharing the kernels' memory: the calling
 * thread scans the first share and waits (Atomics.wait) for the others. The calls stay
 * synchronous, like the single-threaded scan, and the event loop is blocked only as long as
 * the scan itself would block it.
 */
export class ParallelScan {
  readonly threads: number;
  readonly #kernels: Kernels;
  readonly #workers: Array<{ worker: Worker; control: Int32Array }> = [];
  #seq = 0;
  #running = 0;

  /** Worker threads alive (0 once `close()` has resolved). */
  get running(): number {
    return this.#running;
  }

  /** `threads` counts the calling thread; `threads - 1` workers are started. */
  constructor(kernels: Kernels, threads: number) {
    this.#kernels = kernels;
    this.threads = threads;
    const url = new URL(
      import.meta.url.endsWith('.ts') ? './scan-worker.ts' : './scan-worker.js',
      import.meta.url,
    );
    for (let i = 1; i < threads; i++) {
      const control = new Int32Array(new SharedArrayBuffer(JOB.length * 4));
      const worker = new Worker(url, {
        workerData: { module: kernels.module, memory: kernels.memory, control: control.buffer },
      });
      worker.unref();
      this.#running++;
      worker.once('exit', () => this.#running--);
      this.#workers.push({ worker, control });
    }
  }

  /**
   * Runs a row-scanning kernel over `n` rows of `stride` bytes from `rows`, writing
   * `outPerRow` int32 per row from `out`. `args` are the kernel's leading (query) arguments.
   */
  scan(
    kernel: ScanKernel,
    args: readonly number[],
    rows: number,
    n: number,
    stride: number,
    out: number,
    outPerRow = 1,
  ): void {
    const run = kernelByCode(this.#kernels, KERNEL_CODES[kernel]);
    const paramsFor = (start: number, count: number): [number, number, number, number, number, number] => {
      const r = rows + start * stride;
      const o = out + start * outPerRow * 4;
      return kernel === 'dotRowsMulti'
        ? [args[0]!, args[1]!, r, count, stride, o]
        : [args[0]!, r, count, stride, o, 0];
    };
    if (this.#workers.length === 0 || n < MIN_PARALLEL_ROWS) {
      run(...paramsFor(0, n));
      return;
    }
    const share = Math.ceil(n / this.threads);
    const seq = ++this.#seq;
    const started: Int32Array[] = [];
    this.#workers.forEach(({ control }, i) => {
      const start = (i + 1) * share;
      const count = Math.min(share, n - start);
      if (count <= 0) return;
      control[JOB.kernel] = KERNEL_CODES[kernel];
      control.set(paramsFor(start, count), JOB.a);
      Atomics.store(control, JOB.seq, seq);
      Atomics.notify(control, JOB.seq);
      started.push(control);
    });
    run(...paramsFor(0, Math.min(share, n)));
    for (const control of started) {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const done = Atomics.load(control, JOB.done);
        if (done === seq) break;
        if (Date.now() > deadline) {
          throw new AgentfleetError('SCAN_THREAD_FAILED', 'A vector scan thread did not answer.');
        }
        Atomics.wait(control, JOB.done, done, 1000);
      }
    }
  }

  /** Stops the scan threads. */
  async close(): Promise<void> {
    for (const { control } of this.#workers) {
      Atomics.store(control, JOB.seq, -1);
      Atomics.notify(control, JOB.seq);
    }
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
    this.#workers.length = 0;
  }
}
