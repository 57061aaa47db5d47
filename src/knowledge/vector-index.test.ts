import { vectorIndexContract } from '../testing/index.ts';
import { ExactIndex, HnswIndex } from './index.ts';

vectorIndexContract('ExactIndex', {
  make: (d) => new ExactIndex(d, { initialCapacity: 2 }),
  accuracy: 'exact',
});
vectorIndexContract('ExactIndex (2 threads)', {
  make: (d) => new ExactIndex(d, { threads: 2 }),
  accuracy: 'exact',
});
vectorIndexContract('HnswIndex', {
  make: (d) => new HnswIndex(d, { efSearch: 32, initialCapacity: 2 }),
  accuracy: 0.9,
});
vectorIndexContract('HnswIndex restored from a saved graph', {
  make: (d) => HnswIndex.fromGraph(new HnswIndex(d).exportGraph()),
  accuracy: 0.9,
});
