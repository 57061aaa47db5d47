// Ingests documents into a knowledge base directory one by one, printing "ack <id> <version>"
// after each upsert resolves (that is, once it is on disk). The parent kills it with SIGKILL
// mid-way. Arguments: directory, count, and optionally the number of distinct ids to cycle
// through (0: every document new) and `compactionMinBytes` (small: compacting all the time).
import { KnowledgeBase } from '../../src/knowledge/index.ts';

const [dir, count, distinct = '0', minBytes] = process.argv.slice(2) as [string, string, string?, string?];
const kb = await KnowledgeBase.open({
  directory: dir,
  ...(minBytes === undefined ? {} : { compactionMinBytes: Number(minBytes) }),
});
for (let i = 0; i < Number(count); i++) {
  const n = Number(distinct) > 0 ? i % Number(distinct) : i;
  await kb.upsert({
    tenant: 'acme',
    id: `doc-${n}`,
    text: `Document number ${n} about topic ${n % 7}, version ${i}. `.repeat(20),
    metadata: { version: i },
  });
  process.stdout.write(`ack doc-${n} ${i}\n`);
}
await kb.close();
