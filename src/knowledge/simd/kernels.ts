import { KERNELS_WASM_BASE64 } from './kernels.wasm.ts';

/** The part of a `WebAssembly.Memory` used here (the project's `lib` has no DOM types). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

/** The slice of the `WebAssembly` global needed to run the kernels. */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

/** The functions kernels.wat exports. */
export interface KernelExports {
  dotRows(query: number, rows: number, n: number, stride: number, out: number): void;
  dotRowsMulti(queries: number, nq: number, rows: number, n: number, stride: number, out: number): void;
  dotRowsU7(query: number, rows: number, n: number, stride: number, out: number): void;
  dotListU7(query: number, rows: number, stride: number, ids: number, n: number, out: number): void;
}

/** The compiled SIMD kernels (see kernels.wat), bound to one memory. */
export interface Kernels extends KernelExports {
  readonly memory: WasmMemory;
  /** The compiled module, for instantiating it in scan threads over the same memory. */
  readonly module: object;
}

const PAGE = 65_536;
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let compiled: object | undefined;

/** Instantiates the kernels over a new memory of at least `bytes`; shared, so workers can read it. */
export function createKernels(bytes: number): Kernels {
  compiled ??= new wasm.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  const memory = new wasm.Memory({
    initial: Math.max(1, Math.ceil(bytes / PAGE)),
    maximum: 65_536,
    shared: true,
  });
  const instance = new wasm.Instance(compiled, { env: { memory } });
  return { memory, module: compiled, ...(instance.exports as unknown as KernelExports) };
}

/** Grows `memory` to hold at least `bytes`. */
export function ensureMemory(memory: WasmMemory, bytes: number): void {
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / PAGE));
}
