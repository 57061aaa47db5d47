/** A benchmark's outcome: rows for the table, and the figures for JSON. */
export interface BenchReport {
  name: string;
  /** What is measured, in one line, for the README and the table title. */
  measures: string;
  rows: Array<Record<string, string | number>>;
  /** Headline figures, each with its unit in the key name. */
  figures: Record<string, number | string | boolean>;
}

/** Prints a report as a readable table and one `JSON:` line. */
export function printReport(report: BenchReport): void {
  console.log(`\n## ${report.name}: ${report.measures}`);
  console.table(report.rows);
  console.log(`JSON: ${JSON.stringify({ name: report.name, figures: report.figures, rows: report.rows })}`);
}

/** Runs `fn` `rounds` times and returns the fastest wall time in ms (best-of-N resists noise). */
export async function bestOf(rounds: number, fn: () => unknown): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));
