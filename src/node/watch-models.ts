import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TokenBudgetGate } from '../budgets/index.ts';
import type { ServerConfig } from '../config/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import {
  type ModelRegistry,
  type ModelsReloadSummary,
  parseModelsJson,
  unreadable,
} from '../models/index.ts';
import { checkModelsConfig, namingFile } from './open-models.ts';

/** Options of `watchModels`. */
export interface WatchModelsOptions {
  config: ServerConfig;
  models: ModelRegistry;
  /** The gate whose prices a reload swaps (the node's own; a gate passed in `NodeParts` keeps its prices). */
  budgets: TokenBudgetGate | undefined;
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Where `agentfleet_models_reloads_total{outcome}` is registered. */
  metrics: Registry;
  /** Milliseconds of quiet after a change of the file before it is read. Default 200. */
  debounceMs?: number;
}

/** The node's models reloads: from its `modelsFile` (watched), or a config object. */
export interface ModelsReloads {
  /**
   * Re-reads the models file, or serves `config` (same shape as `models`), and swaps prices
   * too. Reloads run one at a time.
   * @throws the config's typed error (nothing changes), or `CONFIG_INVALID` without a config
   * and without a `modelsFile`
   */
  reload(config?: unknown): Promise<ModelsReloadSummary>;
  /** Reloads so far by outcome (the metric's figures). */
  readonly counts: Readonly<{ ok: number; invalid: number }>;
  /** Stops watching (clears the pending debounce). Idempotent. */
  close(): void;
}

/**
 * Serves the node's models config without restarts. With `modelsFile`: applies its prices
 * (its providers are already the registry's, see `openModels`) and watches it, through its
 * folder so an editor's write-then-rename is seen; each change, once quiet for `debounceMs`,
 * is read, validated and reloaded. An invalid file is refused with a warn line (the old config
 * keeps serving) and counted as `outcome="invalid"`.
 * @throws the prices' `INVALID_OPTIONS` (naming the file) when the node's gate cannot take them
 */
export async function watchModels(options: WatchModelsOptions): Promise<ModelsReloads> {
  const { models, budgets, env, logger } = options;
  const file = options.config.modelsFile;
  const counts = { ok: 0, invalid: 0 };
  const { Counter } = await import('prom-client');
  new Counter({
    name: 'agentfleet_models_reloads_total',
    help: 'Reloads of the models config, by outcome (ok, or invalid: refused, the old config kept).',
    labelNames: ['outcome'],
    registers: [options.metrics],
    collect() {
      this.reset();
      this.inc({ outcome: 'ok' }, counts.ok);
      this.inc({ outcome: 'invalid' }, counts.invalid);
    },
  });
  if (file !== undefined && budgets !== undefined) {
    // Checked by openModels already; the registry keeps the config's shape, not its price types.
    const loaded = models.config ?? { providers: {} };
    namingFile(file, () => budgets.setPrices(checkModelsConfig(loaded).prices));
  }
  let lastText: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** Runs reloads one at a time, in order. */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => {});
    return run;
  };
  const apply = (config: unknown, from: string | undefined): ModelsReloadSummary => {
    const named = <T>(fn: () => T): T => (from === undefined ? fn() : namingFile(from, fn));
    const checked = named(() => checkModelsConfig(config));
    const summary = named(() => models.reload(checked, env));
    budgets?.setPrices(checked.prices); // checked above: cannot throw
    const { version, added, removed, changed } = summary;
    logger.info(
      { version, added, removed, changed, ...(from === undefined ? {} : { file: from }) },
      'models reloaded',
    );
    return summary;
  };
  /** Reads and serves the file; undefined when `onlyIfChanged` and its text is the one served. */
  const fromFile = async (path: string, onlyIfChanged: boolean): Promise<ModelsReloadSummary | undefined> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw unreadable(path, error);
    }
    if (onlyIfChanged && text === lastText) return undefined; // touched, or written twice
    const summary = apply(parseModelsJson(text, path), path);
    lastText = text;
    return summary;
  };
  const counted = async <T>(task: () => Promise<T>): Promise<T> => {
    let result: T;
    try {
      result = await task();
    } catch (error) {
      counts.invalid++;
      throw error;
    }
    if (result !== undefined) counts.ok++;
    return result;
  };
  const reload = (config?: unknown): Promise<ModelsReloadSummary> =>
    serial(() =>
      counted(async () => {
        if (config !== undefined) {
          const summary = apply(config, undefined);
          lastText = undefined; // the file, even unchanged, is no longer what is served
          return summary;
        }
        if (file === undefined) {
          throw new AgentfleetError(
            'CONFIG_INVALID',
            'This node has no modelsFile to re-read (AGENTFLEET_MODELS_FILE); pass a models config.',
          );
        }
        return (await fromFile(file, false)) as ModelsReloadSummary;
      }),
    );

  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  if (file !== undefined) {
    const path = resolve(file);
    const name = basename(path);
    const changed = () =>
      serial(() => counted(() => fromFile(path, true))).catch((error: unknown) => {
        if (!closed)
          logger.warn({ err: error, file }, 'models file refused; the old models config keeps serving');
      });
    // The folder, not the file: an editor that writes a new file and renames it over the old
    // one ends a watch on the file itself.
    watcher = watch(dirname(path), { persistent: false }, (_event, changedName) => {
      if (closed || (changedName !== null && changedName !== name)) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (!closed) void changed();
      }, options.debounceMs ?? 200);
      timer.unref();
    });
    watcher.on('error', (error) => logger.warn({ err: error, file }, 'watching the models file failed'));
  }
  return {
    reload,
    counts,
    close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
