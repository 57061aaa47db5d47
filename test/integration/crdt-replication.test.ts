// Three node processes share CRDTs over the loopback NATS server through a lossy transport
// (messages dropped, duplicated, reordered); one is partitioned, keeps writing, and is healed.
// All three must reach the same state, equal to the totals of every write.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sleep } from '../helpers.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const fixture = fileURLToPath(new URL('./fixtures/crdt-node.ts', import.meta.url));

interface Report {
  visits: number;
  balance: number;
  tags: string[];
  owner: unknown;
  agent: Record<string, unknown>;
  lossy: { dropped: number; duplicated: number; reordered: number; partitioned: number };
}

class NodeProcess {
  readonly child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  constructor(name: string, node: string, seed: number) {
    this.child = spawn(process.execPath, [fixture, NATS_URL, name, node, String(seed)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  /** The next line the process prints, within 15 s. */
  async next(): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer; stderr: ${this.#stderr.slice(-2000)}`)), 15_000);
    });
    try {
      const line = await Promise.race([this.#lines.next(), timeout]);
      if (line.done) throw new Error(`the process ended; stderr: ${this.#stderr.slice(-2000)}`);
      return JSON.parse(line.value);
    } finally {
      clearTimeout(timer);
    }
  }

  send(command: Record<string, unknown>): Promise<unknown> {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    return this.next();
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

describe('CRDT replication across three processes', { skip, timeout: 90_000 }, () => {
  const nodes: NodeProcess[] = [];
  after(() => Promise.all(nodes.map((n) => n.kill())));

  it('converges after drops, duplicates, reordering and a healed partition', async () => {
    const name = `conv${randomBytes(4).toString('hex')}`;
    for (const [i, id] of ['n1', 'n2', 'n3'].entries()) nodes.push(new NodeProcess(name, id, 100 + i));
    for (const n of nodes) assert.ok((await n.next()) !== undefined); // ready
    const ops = (counts: number[]) => Promise.all(nodes.map((n, i) => n.send({ cmd: 'ops', n: counts[i] })));
    await ops([40, 30, 20]);
    await nodes[2]!.send({ cmd: 'partition' });
    await ops([30, 20, 50]); // n3 writes alone while cut off
    await sleep(300);
    const cut = (await nodes[0]!.send({ cmd: 'report' })) as Report;
    assert.notEqual(cut.visits, 190, 'the partition kept n3 writes away from n1');
    await nodes[2]!.send({ cmd: 'heal' });
    const healedAt = Date.now();
    let reports: Report[] = [];
    for (let round = 0; round < 200; round++) {
      reports = (await Promise.all(nodes.map((n) => n.send({ cmd: 'report' })))) as Report[];
      const views = reports.map((r) => JSON.stringify([r.visits, r.balance, r.tags, r.owner, r.agent]));
      if (views.every((v) => v === views[0]) && reports[0]!.visits === 190) break;
      await sleep(50);
    }
    const steps = [70, 50, 70];
    // Per node: step % 3 === 0 decrements 1, else increments 2.
    const balance = steps.reduce((sum, n) => {
      let b = 0;
      for (let s = 1; s <= n; s++) b += s % 3 === 0 ? -1 : 2;
      return sum + b;
    }, 0);
    const tags = ['n1', 'n2', 'n3']
      .flatMap((node, i) =>
        Array.from({ length: steps[i]! }, (_, k) => k + 1)
          .filter((s) => !((s + 1) % 4 === 0 && s + 1 <= steps[i]!))
          .map((s) => `${node}-${s}`),
      )
      .sort();
    for (const r of reports) {
      assert.equal(r.visits, 190);
      assert.equal(r.balance, balance);
      assert.deepEqual(r.tags, tags);
      assert.deepEqual(r.agent, { steps: 190 });
      assert.deepEqual(r.owner, reports[0]!.owner);
    }
    assert.ok(reports.some((r) => r.lossy.dropped > 0 && r.lossy.duplicated > 0 && r.lossy.reordered > 0));
    assert.ok(reports[2]!.lossy.partitioned > 0);
    process.stdout.write(`# converged ${Date.now() - healedAt} ms after the heal\n`);
    for (const n of nodes) await n.send({ cmd: 'exit' });
    await Promise.all(nodes.map((n) => (n.child.exitCode === null ? once(n.child, 'exit') : undefined)));
  });
});
