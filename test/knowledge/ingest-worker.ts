// Ingests documents into a knowledge base directory one by one, printing "ack <id>" after each
// upsert resolves (that is, once it is on disk). The parent kills it with SIGKILL mid-way.
import { KnowledgeBase } from '../../src/knowledge/index.ts';

const [dir, count] = process.argv.slice(2) as [string, string];
const kb = await KnowledgeBase.open({ directory: dir, embedder: undefined });
for (let i = 0; i < Number(count); i++) {
  await kb.upsert({
    tenant: 'acme',
    id: `doc-${i}`,
    text: `Document number ${i} about topic ${i % 7}. `.repeat(20),
  });
  process.stdout.write(`ack doc-${i}\n`);
}
await kb.close();
