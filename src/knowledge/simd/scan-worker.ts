// A scan thread: runs kernels on its share of the rows, in the same shared WebAssembly memory
// as the index, when `ParallelScan` bumps its job counter.
import { workerData } from 'node:worker_threads';
import type { KernelExports } from './kernels.ts';
import { JOB, kernelByCode } from './scan-protocol.ts';

const { module, memory, control } = workerData as {
  module: object;
  memory: object;
  control: SharedArrayBuffer;
};
const wasm = (
  globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: unknown } } }
).WebAssembly;
const kernels = new wasm.Instance(module, { env: { memory } }).exports as KernelExports;
const c = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(c, JOB.seq, seen);
  seen = Atomics.load(c, JOB.seq);
  if (seen < 0) break;
  kernelByCode(kernels, c[JOB.kernel]!)(c[JOB.a]!, c[JOB.b]!, c[JOB.c]!, c[JOB.d]!, c[JOB.e]!, c[JOB.f]!);
  Atomics.store(c, JOB.done, seen);
  Atomics.notify(c, JOB.done);
}
