/** The backend registry: backends by name, with a preferred default. Only index.ts and cli/ fill it. */
import { BadRequestError } from '../domain/errors.js';
import type { IsolationBackend } from './isolation-backend.js';

export class BackendRegistry {
  private readonly backends = new Map<string, IsolationBackend>();
  private defaultName: string | undefined;

  /** Registers `backend` under its name; the first one registered is the default unless `asDefault`. */
  register(backend: IsolationBackend, options: { asDefault?: boolean } = {}): this {
    if (!backend.name) throw new BadRequestError('A backend must have a non-empty name.');
    this.backends.set(backend.name, backend);
    if (options.asDefault || this.defaultName === undefined) this.defaultName = backend.name;
    return this;
  }

  /** The backend called `name`, or the default. Throws `BadRequestError` naming the known ones. */
  get(name?: string): IsolationBackend {
    const key = name ?? this.defaultName;
    const backend = key === undefined ? undefined : this.backends.get(key);
    if (!backend) {
      throw new BadRequestError(`Unknown backend "${key ?? ''}". Known backends: ${this.names().join(', ') || 'none'}.`, { backend: key });
    }
    return backend;
  }

  has(name: string): boolean {
    return this.backends.has(name);
  }

  names(): string[] {
    return [...this.backends.keys()];
  }

  get defaultBackend(): string | undefined {
    return this.defaultName;
  }

  all(): IsolationBackend[] {
    return [...this.backends.values()];
  }
}
