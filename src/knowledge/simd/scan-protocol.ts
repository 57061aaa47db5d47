import type { KernelExports } from './kernels.ts';

/** Slots of a scan thread's control block (an Int32Array on a SharedArrayBuffer). */
export const JOB = { seq: 0, done: 1, kernel: 2, a: 3, b: 4, c: 5, d: 6, e: 7, f: 8, length: 9 } as const;

/** Kernels a scan thread can run, by code. */
export const KERNEL_CODES = { dotRows: 0, dotRowsU7: 1, dotRowsMulti: 2 } as const;

export type ScanKernel = keyof typeof KERNEL_CODES;

/** The kernel for a code, taking six int arguments (unused ones ignored). */
export function kernelByCode(
  kernels: KernelExports,
  code: number,
): (a: number, b: number, c: number, d: number, e: number, f: number) => void {
  if (code === KERNEL_CODES.dotRows) return kernels.dotRows;
  if (code === KERNEL_CODES.dotRowsU7) return kernels.dotRowsU7;
  return kernels.dotRowsMulti;
}
