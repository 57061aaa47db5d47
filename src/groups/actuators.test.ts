import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { WorkerPool } from '../pool/index.ts';
import { type Actuator, AgentGroup, groupActuator, poolActuator } from './index.ts';

const echo = defineAgent({ name: 'echo', decide: (n: number) => n });

describe('actuators', () => {
  it('groupActuator reports and sets the replicas in rotation', async (t) => {
    const runtime = createRuntime();
    t.after(() => runtime.close());
    const group = await AgentGroup.open({ runtime, id: 'g', definition: echo, replicas: 2 });
    t.after(() => group.close());
    const actuator: Actuator = groupActuator(group);
    assert.equal(actuator.name, 'group:g');
    assert.equal(await actuator.current(), 2);
    await actuator.set(4);
    assert.equal(await actuator.current(), 4);
    assert.equal(runtime.size, 4);
    await actuator.set(1);
    assert.equal(await actuator.current(), 1);
    assert.equal(runtime.size, 1);
    await rejectsWithCode(actuator.set(0), 'GROUP_SIZE_INVALID');
    const controller = new AbortController();
    controller.abort();
    await rejectsWithCode(actuator.set(3, controller.signal), 'ABORTED');
    assert.equal(await actuator.current(), 1);
  });

  it("names a tenant's group with its tenant", async (t) => {
    const runtime = createRuntime();
    t.after(() => runtime.close());
    const group = await withTenant('acme', () => AgentGroup.open({ runtime, id: 'g', definition: echo }));
    t.after(() => group.close());
    assert.equal(groupActuator(group).name, 'group:acme/g');
  });

  it("poolActuator reports and sets a pool's capacity, the runtime's included", async (t) => {
    const pool = new WorkerPool({ capacity: 8 });
    t.after(() => pool.close());
    const actuator = poolActuator(pool);
    assert.equal(actuator.name, 'pool');
    assert.equal(await actuator.current(), 8);
    await actuator.set(2);
    assert.equal(pool.capacity, 2);
    await rejectsWithCode(actuator.set(0), 'INVALID_OPTIONS');
    await rejectsWithCode(actuator.set(2.5), 'INVALID_OPTIONS');
    const controller = new AbortController();
    controller.abort();
    await rejectsWithCode(actuator.set(5, controller.signal), 'ABORTED');
    assert.equal(pool.capacity, 2);

    const runtime = createRuntime({ pool: { capacity: 16 } });
    t.after(() => runtime.close());
    const runtimePool = poolActuator(runtime.pool);
    await runtimePool.set(32);
    assert.equal(runtime.stats().pool.capacity, 32);
  });
});
