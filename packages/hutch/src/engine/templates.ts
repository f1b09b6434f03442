/**
 * What the engine (and the API above it) needs of a template store: resolve a name for a sandbox,
 * and build, list, describe and delete templates. `templates/store.ts` implements it on the host.
 */
import type { TemplateRecipe } from '../templates/recipe.js';
import type { TemplateInfo } from '../templates/store.js';
import type { TemplateResolver } from './lifecycle.js';

export interface TemplateCatalog extends TemplateResolver {
  /** Builds (or reuses by content) a template; `log` receives build output line by line. */
  build(recipe: TemplateRecipe, log: (line: string) => void): Promise<TemplateInfo>;
  list(): Promise<TemplateInfo[]>;
  get(name: string): Promise<TemplateInfo>;
  /** Removes the name; its root filesystem is collected once nothing uses it. */
  delete(name: string): Promise<void>;
}

export function isTemplateCatalog(resolver: TemplateResolver | undefined): resolver is TemplateCatalog {
  return resolver !== undefined && typeof (resolver as Partial<TemplateCatalog>).build === 'function';
}
