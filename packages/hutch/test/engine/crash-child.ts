/**
 * Child process of the crash test: runs an engine over a persisted fake backend and does work until
 * it is killed. Before each backend call it prints `inflight <method>` (pipe writes are synchronous
 * on Linux, so the parent sees the line before the call proceeds) and then waits, so a SIGKILL lands
 * in the middle of an effect. Usage: crash-child.js <dataDir> <create|destroy|random>
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFakeBackend } from '../../src/backends/fake/index.js';
import { Engine } from '../../src/engine/engine.js';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { BackendRegistry } from '../../src/port/registry.js';

const [dataDir, mode] = process.argv.slice(2) as [string, 'create' | 'destroy' | 'random'];
const fake = createFakeBackend({ statePath: join(dataDir, 'fake-world.json') });
let armed = false;

const slow = new Proxy(fake, {
  get(target, prop, receiver) {
    const value = Reflect.get(target, prop, receiver) as unknown;
    if (typeof value !== 'function' || prop === 'watch' || prop === 'capabilities') return value;
    return async (...args: unknown[]) => {
      if (armed) {
        process.stdout.write(`inflight ${String(prop)}\n`);
        if (mode === 'random') await sleep(Math.random() * 3);
        else if (prop === mode) await sleep(60_000);
      }
      return (value as (...a: unknown[]) => unknown).apply(target, args);
    };
  },
}) as IsolationBackend;

const engine = await Engine.open({ dataDir, registry: new BackendRegistry().register(slow), diskProbe: () => 1e12 });
const ids: string[] = [];
for (let i = 0; i < 3; i++) {
  const { id } = await engine.lifecycle.create({ env: { SECRET: 'crash-secret-value' }, timeoutMs: 600_000 });
  ids.push(id);
}
await engine.processes.start(ids[0]!, { shell: 'sleep 600' });
await engine.lifecycle.pause(ids[1]!);
process.stdout.write(`ready ${ids.join(',')}\n`);
armed = true;
if (mode === 'destroy') await engine.lifecycle.destroy(ids[2]!);
for (let i = 0; ; i++) {
  const { id } = await engine.lifecycle.create({ timeoutMs: 600_000 });
  await engine.processes.run(id, { shell: 'echo work' });
  if (i % 2 === 0) await engine.lifecycle.destroy(id);
  process.stdout.write(`progress ${i}\n`);
}
