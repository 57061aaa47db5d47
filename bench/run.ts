// `npm run bench`: runs every benchmark, prints each table and JSON line, then a summary JSON
// line, and writes it to .bench-out/latest.json. Pick some with `npm run bench -- pool lifecycle`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { runActHttpBench } from './act-http.bench.ts';
import { runAutoscaleBench } from './autoscale.bench.ts';
import { runBudgetsBench } from './budgets.bench.ts';
import { runBusBench } from './bus.bench.ts';
import { runBusIngressBench } from './bus-ingress.bench.ts';
import { runChannelBench } from './channel.bench.ts';
import { runClusterBench } from './cluster.bench.ts';
import { runClusterFailoverBench } from './cluster-failover.bench.ts';
import { runCrdtBench } from './crdt.bench.ts';
import { runCrdtSyncBench } from './crdt-sync.bench.ts';
import { runDurableLoopsBench } from './durable/run-loops.ts';
import { runHotSwapBench } from './hot-swap.bench.ts';
import { runIdleAgentsBench } from './idle-agents.bench.ts';
import { runKnowledgeBench } from './knowledge.bench.ts';
import { runKnowledgeIngestBench } from './knowledge-ingest.bench.ts';
import { runKnowledgeReopenBench } from './knowledge-reopen.bench.ts';
import { runLifecycleBench } from './lifecycle.bench.ts';
import { runLlmAgentsBench } from './llm-agents.bench.ts';
import { runModelsSwapBench } from './models-swap.bench.ts';
import { runObservabilityBench } from './observability.bench.ts';
import { runPoolBench } from './pool.bench.ts';
import { runProvenanceBench } from './provenance.bench.ts';
import { type BenchReport, printReport } from './report.ts';
import { runResilienceBench } from './resilience.bench.ts';
import { runRolloutRollbackBench } from './rollout-rollback.bench.ts';
import { runRunsResumeBench } from './runs-resume.bench.ts';
import { runStateSyncBench } from './state-sync.bench.ts';
import { runStateTtlBench } from './state-ttl.bench.ts';
import { runTenantContextBench } from './tenant-context.bench.ts';

const all: Record<string, () => Promise<BenchReport>> = {
  pool: runPoolBench,
  lifecycle: runLifecycleBench,
  'idle-agents': runIdleAgentsBench,
  'act-http': runActHttpBench,
  channel: runChannelBench,
  bus: runBusBench,
  'bus-ingress': runBusIngressBench,
  'llm-agents': runLlmAgentsBench,
  'models-swap': runModelsSwapBench,
  'tenant-context': runTenantContextBench,
  'state-sync': runStateSyncBench,
  'state-ttl': runStateTtlBench,
  crdt: runCrdtBench,
  'crdt-sync': runCrdtSyncBench,
  observability: runObservabilityBench,
  resilience: runResilienceBench,
  budgets: runBudgetsBench,
  knowledge: runKnowledgeBench,
  'knowledge-ingest': runKnowledgeIngestBench,
  'knowledge-reopen': runKnowledgeReopenBench,
  'runs-resume': runRunsResumeBench,
  'durable-loops': runDurableLoopsBench,
  provenance: runProvenanceBench,
  'hot-swap': runHotSwapBench,
  cluster: runClusterBench,
  'cluster-failover': runClusterFailoverBench,
  'rollout-rollback': runRolloutRollbackBench,
  autoscale: runAutoscaleBench,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in all));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(all).join(', ')}`);
  process.exit(2);
}
const summary: Record<string, unknown> = {
  node: process.version,
  cpus: (await import('node:os')).availableParallelism(),
  at: new Date().toISOString(),
};
for (const name of wanted.length > 0 ? wanted : Object.keys(all)) {
  const report = await all[name]!();
  printReport(report);
  summary[name] = report.figures;
}
mkdirSync('.bench-out', { recursive: true });
writeFileSync('.bench-out/latest.json', `${JSON.stringify(summary, null, 2)}\n`);
console.log(`\nJSON: ${JSON.stringify(summary)}`);
