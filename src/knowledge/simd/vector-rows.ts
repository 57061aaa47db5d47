import { createKernels, ensureMemory, type Kernels } from './kernels.ts';
import { ParallelScan } from './parallel-scan.ts';

/**
 * How rows are stored: `int8` levels in [-127, 127] (scanned by `dotRows`, tight bounds), or
 * `u7` levels in [-63, 63] stored +64 (scanned by `dotListU7`, where a stored row can also serve
 * as the query — what building a graph needs).
 */
export type RowEncoding = 'int8' | 'u7';
/** Largest magnitude of a query level; levels are stored offset by QUERY_OFFSET into [1, 127]. */
const QUERY_LEVELS = 63;
/** Added to each query level so the kernel sees 7-bit unsigned values (see kernels.wat). */
export const QUERY_OFFSET = 64;

/** Options of `VectorRows`. */
export interface VectorRowsOptions {
  initialCapacity?: number;
  encoding?: RowEncoding;
  /** Threads a full scan is split across, counting the caller's (default 1). */
  threads?: number;
}

/** A query quantised for the kernels, with what the error bound needs. */
export interface PreparedQuery {
  /** Multiply `dot − QUERY_OFFSET · rowSum(i)` by `scale · rowScale(i)` for the approximate score. */
  readonly scale: number;
  /** ‖q − q̃‖: the query's own quantisation error. */
  readonly error: number;
  /** ‖q‖. */
  readonly norm: number;
}

/**
 * Vectors kept twice: as float32 rows (for exact scores) and as int8 rows with one scale each in
 * WebAssembly memory, scanned with SIMD integer dot products. For every row it keeps ‖x − x̃‖ and
 * ‖x̃‖, so an approximate score q̃·x̃ is within `bound(i)` of the exact q·x (Cauchy–Schwarz):
 * |q·x − q̃·x̃| ≤ ‖q‖‖x − x̃‖ + ‖q − q̃‖‖x̃‖. Exact search scans the int8 rows (a quarter of the
 * bytes) and re-scores only rows whose bound could reach the top k.
 *
 * Written here, not taken from a library: no npm package offers int8 SIMD scans with error
 * bounds over a memory we control (hnswlib-node and usearch are whole indexes in C++ addons).
 */
export class VectorRows {
  readonly dimensions: number;
  /** Bytes per int8 row (and per query): dimensions rounded up to 32, zero padded. */
  readonly stride: number;
  readonly kernels: Kernels;
  readonly encoding: RowEncoding;
  readonly #levels: number;
  readonly #bias: number;
  #count = 0;
  #capacity: number;
  #floats: Float32Array;
  #scales: Float64Array;
  #errors: Float64Array;
  #norms: Float64Array;
  #sums: Int32Array;
  #view: { i8: Int8Array; i32: Int32Array } | undefined;

  readonly #scanner: ParallelScan;

  constructor(dimensions: number, options: VectorRowsOptions = {}) {
    const { initialCapacity = 1024, encoding = 'int8', threads = 1 } = options;
    this.dimensions = dimensions;
    this.encoding = encoding;
    this.#levels = encoding === 'int8' ? 127 : QUERY_LEVELS;
    this.#bias = encoding === 'int8' ? 0 : QUERY_OFFSET;
    this.stride = Math.ceil(dimensions / 32) * 32;
    this.#capacity = Math.max(16, initialCapacity);
    this.kernels = createKernels(this.#capacity * this.stride + 4 * this.stride);
    this.#scanner = new ParallelScan(this.kernels, threads);
    this.#floats = new Float32Array(this.#capacity * dimensions);
    this.#scales = new Float64Array(this.#capacity);
    this.#errors = new Float64Array(this.#capacity);
    this.#norms = new Float64Array(this.#capacity);
    this.#sums = new Int32Array(this.#capacity);
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes held per row (float32 + int8 + three float64 + one int32). */
  get bytesPerRow(): number {
    return this.dimensions * 4 + this.stride + 28;
  }

  /** Byte offset of the int8 rows in kernel memory (row i at `rowsOffset + i * stride`). */
  readonly rowsOffset = 0;

  /** Offset of scratch space after the rows, 16-aligned. */
  get scratchOffset(): number {
    return this.#capacity * this.stride;
  }

  /** Appends a row; returns its number. */
  push(vector: Float32Array): number {
    if (this.#count === this.#capacity) this.#grow(this.#capacity * 2);
    const row = this.#count++;
    this.set(row, vector);
    return row;
  }

  /** Appends `count` zero rows (a restored graph's rows, filled in by `set` as their vectors arrive). */
  appendZeros(count: number): void {
    let capacity = this.#capacity;
    while (capacity < this.#count + count) capacity *= 2;
    if (capacity > this.#capacity) this.#grow(capacity);
    const from = this.#count;
    const to = from + count;
    this.#floats.fill(0, from * this.dimensions, to * this.dimensions);
    this.#memory().i8.fill(
      this.#bias,
      this.rowsOffset + from * this.stride,
      this.rowsOffset + to * this.stride,
    );
    this.#scales.fill(1, from, to);
    this.#errors.fill(0, from, to);
    this.#norms.fill(0, from, to);
    this.#sums.fill(0, from, to);
    this.#count = to;
  }

  /** Replaces row `row` (< count). */
  set(row: number, vector: Float32Array): void {
    const d = this.dimensions;
    this.#floats.set(vector, row * d);
    let max = 0;
    for (let j = 0; j < d; j++) max = Math.max(max, Math.abs(vector[j]!));
    const scale = max === 0 ? 1 : max / this.#levels;
    const bias = this.#bias;
    const i8 = this.#memory().i8;
    const base = this.rowsOffset + row * this.stride;
    let error = 0;
    let norm = 0;
    let sum = 0;
    for (let j = 0; j < d; j++) {
      const level = Math.round(vector[j]! / scale);
      i8[base + j] = level + bias;
      sum += level;
      const approx = level * scale;
      error += (vector[j]! - approx) ** 2;
      norm += approx * approx;
    }
    i8.fill(bias, base + d, base + this.stride);
    this.#scales[row] = scale;
    this.#errors[row] = Math.sqrt(error);
    this.#norms[row] = Math.sqrt(norm);
    this.#sums[row] = sum;
  }

  /** Removes the last row. */
  pop(): void {
    this.#count--;
  }

  /** Copies row `from` over row `to`. */
  move(from: number, to: number): void {
    const d = this.dimensions;
    this.#floats.copyWithin(to * d, from * d, (from + 1) * d);
    const s = this.stride;
    this.#memory().i8.copyWithin(to * s, from * s, (from + 1) * s);
    this.#scales[to] = this.#scales[from]!;
    this.#errors[to] = this.#errors[from]!;
    this.#norms[to] = this.#norms[from]!;
    this.#sums[to] = this.#sums[from]!;
  }

  /** The float32 values of `row` (a view; valid until the next write). */
  floats(row: number): Float32Array {
    return this.#floats.subarray(row * this.dimensions, (row + 1) * this.dimensions);
  }

  /** Exact inner product of `query` with `row`, accumulated in float64. */
  exactDot(query: Float32Array, row: number): number {
    const data = this.#floats;
    const base = row * this.dimensions;
    let s = 0;
    for (let j = 0; j < this.dimensions; j++) s += data[base + j]! * query[j]!;
    return s;
  }

  rowScale(row: number): number {
    return this.#scales[row]!;
  }

  /** Most the approximate score of `row` can differ from the exact one, for `query`. */
  bound(query: PreparedQuery, row: number): number {
    return query.norm * this.#errors[row]! + query.error * this.#norms[row]!;
  }

  /** Per-row arrays, for loops that cannot afford a call per row. */
  get stats(): { scales: Float64Array; errors: Float64Array; norms: Float64Array; sums: Int32Array } {
    return { scales: this.#scales, errors: this.#errors, norms: this.#norms, sums: this.#sums };
  }

  /** Quantises `query` into query slot `slot` of scratch memory (see `reserve`). */
  prepare(query: Float32Array, slot = 0): PreparedQuery {
    const d = this.dimensions;
    let max = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      max = Math.max(max, Math.abs(query[j]!));
      norm += query[j]! * query[j]!;
    }
    const scale = max === 0 ? 1 : max / QUERY_LEVELS;
    const i8 = this.#memory().i8;
    const base = this.queryOffset(slot);
    let error = 0;
    for (let j = 0; j < d; j++) {
      const level = Math.round(query[j]! / scale);
      i8[base + j] = level + QUERY_OFFSET;
      error += (query[j]! - level * scale) ** 2;
    }
    // padding meets zero row bytes, so any value works; the offset keeps it in range
    i8.fill(QUERY_OFFSET, base + d, base + this.stride);
    return { scale, error: Math.sqrt(error), norm: Math.sqrt(norm) };
  }

  /** Byte offset of query slot `slot` in scratch memory. */
  queryOffset(slot: number): number {
    return this.scratchOffset + slot * this.stride;
  }

  /** Makes sure scratch memory holds `slots` queries and `outInts` int32 outputs; returns the output offset. */
  reserve(slots: number, outInts: number): number {
    const out = this.queryOffset(slots);
    if (out + outInts * 4 > this.#memoryBytes) {
      ensureMemory(this.kernels.memory, out + outInts * 4);
      this.#memoryBytes = this.kernels.memory.buffer.byteLength;
    }
    return out;
  }

  /** Kernel memory size as last seen (reading `memory.buffer` costs more than this check). */
  #memoryBytes = 0;

  /** Scans all rows with the query in slot 0, leaving `count` int32 dots at byte offset `out`. */
  scan(out: number): void {
    const kernel = this.encoding === 'int8' ? 'dotRows' : 'dotRowsU7';
    this.#scanner.scan(kernel, [this.queryOffset(0)], this.rowsOffset, this.#count, this.stride, out);
  }

  /** Scans all int8 rows with the `nq` queries in slots 0.., leaving dots row-major (`nq` per row). */
  scanMulti(nq: number, out: number): void {
    this.#scanner.scan(
      'dotRowsMulti',
      [this.queryOffset(0), nq],
      this.rowsOffset,
      this.#count,
      this.stride,
      out,
      nq,
    );
  }

  /** Scan worker threads alive. */
  get scanThreads(): number {
    return this.#scanner.running;
  }

  /** Scratch of at least `count` float64s, for per-row bounds during one search. */
  upperScratch(): Float64Array {
    if (this.#upper.length < this.#count) this.#upper = new Float64Array(this.#capacity);
    return this.#upper;
  }

  #upper = new Float64Array(0);

  /** Stops the scan threads, if any; later scans run on the calling thread. */
  close(): Promise<void> {
    return this.#scanner.close();
  }

  /** Int32 view of kernel memory (refreshed after growth). */
  get i32(): Int32Array {
    return this.#memory().i32;
  }

  #grow(capacity: number): void {
    // Rows stay in place; scratch space moves up to after the new capacity.
    ensureMemory(this.kernels.memory, capacity * this.stride + 4 * this.stride);
    this.#memoryBytes = this.kernels.memory.buffer.byteLength;
    this.#view = undefined;
    this.#capacity = capacity;
    const floats = new Float32Array(capacity * this.dimensions);
    floats.set(this.#floats);
    this.#floats = floats;
    this.#scales = grow64(this.#scales, capacity);
    this.#errors = grow64(this.#errors, capacity);
    this.#norms = grow64(this.#norms, capacity);
    const sums = new Int32Array(capacity);
    sums.set(this.#sums);
    this.#sums = sums;
  }

  /** Views of kernel memory, rebuilt only after it grew (every growth goes through this class). */
  #memory(): { i8: Int8Array; i32: Int32Array } {
    let view = this.#view;
    if (view === undefined || view.i8.byteLength !== this.#memoryBytes) {
      const buffer = this.kernels.memory.buffer;
      this.#memoryBytes = buffer.byteLength;
      view = { i8: new Int8Array(buffer), i32: new Int32Array(buffer) };
      this.#view = view;
    }
    return view;
  }
}

function grow64(array: Float64Array, capacity: number): Float64Array {
  const grown = new Float64Array(capacity);
  grown.set(array);
  return grown;
}
