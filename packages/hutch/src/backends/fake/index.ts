/** The fake backend: in-memory, deterministic, scriptable, for tests of the layers above the port. */
import { FakeBackend, type FakeBackendOptions } from './fake-backend.js';

export { FakeBackend } from './fake-backend.js';
export type { FakeBackendOptions } from './fake-backend.js';
export type { FakeScript } from './fake-process.js';

/** Creates a fake backend (see FakeBackendOptions for scripting). */
export function createFakeBackend(options: FakeBackendOptions = {}): FakeBackend {
  return new FakeBackend(options);
}
