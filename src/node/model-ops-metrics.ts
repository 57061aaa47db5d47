import type { Registry } from 'prom-client';

/**
 * A counter by one label on the node's `/metrics`, read from `counts` when scraped (the
 * counts are kept by the node whether or not metrics are on). Outcomes are a fixed set.
 */
export async function registerCountsByLabel(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  counts: ReadonlyMap<string, number>,
): Promise<void> {
  // Loaded here, as the metrics are: the root export loads no Prometheus client.
  const { Counter } = await import('prom-client');
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of counts) this.inc({ [label]: value }, n);
    },
  });
}
