// Runs every test file (src/**, test/**) with node's test runner on the pinned Node.
// Test files are listed explicitly so an empty match fails loudly instead of passing.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const files = globSync(['src/**/*.test.ts', 'test/**/*.test.ts']).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const args = ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`];
const result = spawnSync(process.execPath, [...args, ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
