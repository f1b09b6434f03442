/** The fake backend passes the conformance suite: it is the reference implementation of the port. */
import { runConformance } from '../../../test/conformance/index.js';
import { createFakeBackend, type FakeBackend } from './index.js';

let first: FakeBackend | undefined;

runConformance({
  name: 'fake',
  create: async () => (first = createFakeBackend()),
  reopen: async () => first!.clone(),
});
