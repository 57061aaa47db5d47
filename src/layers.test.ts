// The layers hold: folders meet only at their barrels, the ground floor imports no capability,
// and the folder graph has no cycle. Each failure lists every offender, file by file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(SRC, '..');

/** The ground floor: imported by everything, importing no capability (context may use errors). */
const GROUND: Readonly<Record<string, readonly string[]>> = { errors: [], context: ['errors'] };

/** The files through which another folder may enter a folder. */
const BARRELS = new Set(['index.ts', 'internal.ts']);

/** The package's subpath entries (`agentfleet/postgres`, …), public surfaces too: `src/…` paths. */
const ENTRIES: readonly string[] = [
  ...Object.values(
    (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        exports: Record<string, string | { default: string }>;
      }
    ).exports,
  )
    .filter((entry) => typeof entry !== 'string')
    .map((entry) => entry.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
];

interface Edge {
  /** The importing file, relative to src/. */
  file: string;
  /** The specifier as written. */
  specifier: string;
  /** The target, relative to the repository root. */
  target: string;
}

/** Every relative specifier of a file: static imports, `export … from`, dynamic `import()`. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(/\b(?:from|import)\s*\(?\s*'(\.[^']*)'/g)) found.push(m[1]!);
  return found;
}

/**
 * The public surfaces a subpath gives: its entry, and for an entry directly in src/ (a barrel
 * such as src/nats.ts gathering one technology's adapters from several folders) the files it
 * re-exports.
 */
const SUBPATHS: ReadonlySet<string> = new Set(
  ENTRIES.flatMap((entry) =>
    entry.split('/').length > 2
      ? [entry]
      : [
          entry,
          ...specifiers(readFileSync(join(ROOT, entry), 'utf8')).map((s) =>
            relative(ROOT, resolve(ROOT, dirname(entry), s))
              .split(sep)
              .join('/'),
          ),
        ],
  ),
);

function tsFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(SRC, join(e.parentPath, e.name)))
    .filter((file) => file !== 'layers.test.ts');
}

function edges(): Edge[] {
  const all: Edge[] = [];
  for (const file of tsFiles()) {
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const specifier of specifiers(text)) {
      const target = relative(ROOT, resolve(SRC, dirname(file), specifier));
      all.push({ file, specifier, target });
    }
  }
  return all;
}

/** The top-level folder of a path relative to src/, or undefined for files directly in src/. */
function folderOf(fromSrc: string): string | undefined {
  const parts = fromSrc.split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

const isTestOnly = (file: string) => file.endsWith('.test.ts');

/** Cross-folder edges inside src/: [from folder, to folder, edge]. */
function crossings(): Array<{ from: string | undefined; to: string; inner: string; edge: Edge }> {
  const out: Array<{ from: string | undefined; to: string; inner: string; edge: Edge }> = [];
  for (const edge of edges()) {
    const parts = edge.target.split(sep);
    if (parts[0] !== 'src' || parts.length < 3) continue;
    const to = parts[1]!;
    const from = folderOf(edge.file);
    if (from === to) continue;
    out.push({ from, to, inner: parts.slice(2).join('/'), edge });
  }
  return out;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    path.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (state.get(next) === 'open') return [...path.slice(path.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const cycle = visit(next);
        if (cycle !== undefined) return cycle;
      }
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.get(node) === undefined) {
      const cycle = visit(node);
      if (cycle !== undefined) return cycle;
    }
  }
  return undefined;
}

describe('layers', () => {
  it('a folder enters another only through its index.ts or internal.ts', () => {
    const offenders = crossings()
      .filter((c) => !BARRELS.has(c.inner) && !SUBPATHS.has(c.edge.target.split(sep).join('/')))
      .map((c) => `${c.edge.file}: '${c.edge.specifier}'`);
    assert.deepEqual(offenders, [], `imports that bypass a folder's barrel:\n${offenders.join('\n')}`);
  });

  it('src/ reaches outside itself only from tests (test/, scripts/); contract suites (shipped in agentfleet/testing) never', () => {
    const offenders = edges()
      .filter((e) => !e.target.startsWith(`src${sep}`))
      .filter((e) => !(isTestOnly(e.file) && e.target.startsWith(`test${sep}`)))
      .filter((e) => !(isTestOnly(e.file) && e.target.startsWith(`scripts${sep}`)))
      .map((e) => `${e.file}: '${e.specifier}'`);
    assert.deepEqual(offenders, [], `imports leaving src/:\n${offenders.join('\n')}`);
  });

  it('the ground floor (errors, context) imports no capability', () => {
    const offenders = crossings()
      .filter((c) => c.from !== undefined && c.from in GROUND && !isTestOnly(c.edge.file))
      .filter((c) => !GROUND[c.from!]!.includes(c.to))
      .map((c) => `${c.edge.file}: '${c.edge.specifier}'`);
    assert.deepEqual(offenders, [], `ground-floor imports of capabilities:\n${offenders.join('\n')}`);
  });

  it('the folder graph has no cycle', () => {
    const graph = new Map<string, Set<string>>();
    const why = new Map<string, string>();
    for (const c of crossings()) {
      if (c.from === undefined || isTestOnly(c.edge.file)) continue;
      let targets = graph.get(c.from);
      if (targets === undefined) {
        targets = new Set();
        graph.set(c.from, targets);
      }
      targets.add(c.to);
      if (!why.has(`${c.from}>${c.to}`)) why.set(`${c.from}>${c.to}`, c.edge.file);
    }
    const cycle = findCycle(graph);
    const detail =
      cycle === undefined
        ? ''
        : cycle
            .slice(1)
            .map((to, i) => `  ${cycle[i]} → ${to} (${why.get(`${cycle[i]}>${to}`)})`)
            .join('\n');
    assert.equal(cycle, undefined, `a folder cycle: ${cycle?.join(' → ')}\n${detail}`);
  });

  it('finds what it looks for (the checks cannot pass vacuously)', () => {
    assert.deepEqual(
      specifiers(
        `import a from './a.ts';\nexport { b } from '../b/index.ts';\nconst c = await import('../c/x.ts');\n// import z from '../z.ts'`,
      ),
      ['./a.ts', '../b/index.ts', '../c/x.ts'],
    );
    assert.deepEqual(
      findCycle(
        new Map([
          ['a', new Set(['b'])],
          ['b', new Set(['c'])],
          ['c', new Set(['a'])],
        ]),
      ),
      ['a', 'b', 'c', 'a'],
    );
    assert.equal(
      findCycle(
        new Map([
          ['a', new Set(['b'])],
          ['b', new Set(['c'])],
        ]),
      ),
      undefined,
    );
    assert.ok(crossings().length > 50, 'the scan sees the cross-folder imports');
  });
});
