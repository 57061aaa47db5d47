// An echo agent of one tenant behind a bus front door, traced into memory: what the plain-client
// tests (NATS, MQTT 5) message from outside.
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { type Bus, createBus, type Transport } from '../../src/bus/index.ts';
import { LocalFleet } from '../../src/cluster/index.ts';
import { withTenant } from '../../src/context/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../../src/core/index.ts';
import { BusFrontDoor } from '../../src/front-door/index.ts';
import { setupTracing, type TracingHandle } from '../../src/observability/index.ts';

export interface EchoFrontDoor {
  exporter: InMemorySpanExporter;
  runtime: Runtime;
  bus: Bus;
  door: BusFrontDoor;
  close(): Promise<void>;
}

/** Agent `bot` of `tenant` answers `{ echoed: input }`, on its own queue group over `transport`. */
export async function startEchoFrontDoor(transport: Transport, tenant: string): Promise<EchoFrontDoor> {
  const exporter = new InMemorySpanExporter();
  const tracing: TracingHandle = setupTracing({ exporter, immediate: true, env: {} })!;
  const runtime = createRuntime();
  await withTenant(tenant, () =>
    runtime.spawn(defineAgent({ name: 'echo', decide: (input: unknown) => ({ echoed: input }) }), {
      id: 'bot',
    }),
  );
  const bus = createBus({ transport });
  const door = await BusFrontDoor.open(new LocalFleet(runtime), bus, { queue: `q${tenant}` });
  return {
    exporter,
    runtime,
    bus,
    door,
    async close() {
      await door.close();
      await bus.close();
      await runtime.close();
      await tracing.shutdown();
    },
  };
}
