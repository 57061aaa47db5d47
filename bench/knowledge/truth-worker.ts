// One share of the ground truth: exact top-K for queries [from, to), written into shared memory.
import { workerData } from 'node:worker_threads';
import { exactTopK } from './data.ts';

const { base, n, queries, from, to, truth } = workerData as {
  base: Float32Array;
  n: number;
  queries: Float32Array;
  from: number;
  to: number;
  truth: Int32Array;
};
exactTopK(base, n, queries, from, to, truth);
