/**
 * `Template`: build, list, describe and delete sandbox templates on the server. Builds stream their
 * log; an unchanged recipe is reused by content, so building again is cheap.
 *
 *   const info = await Template.build({ name: 'py', from: { template: 'base' }, steps: [{ run: 'pip install requests' }] },
 *     { onLog: (line) => console.log(line) });
 *   const sandbox = await Sandbox.create({ template: 'py' });
 */
import { ConnectionConfig, type CallOptions, type ConnectionOptions } from './connection-config.js';
import { errorFromBody } from './errors.js';
import { HttpClient } from './http-client.js';

/** One build step. */
export type TemplateStep = { run: string } | { env: Record<string, string> } | { workdir: string } | { user: string } | { copy: { dest: string; content: string; mode?: number } };

export interface TemplateRecipe {
  name: string;
  /** Another template (`base` is built in), or Debian's archive. */
  from: { template: string } | { debootstrap: { suite: string; include: string[] } };
  steps?: TemplateStep[];
  /** Started detached in every sandbox made from the template. */
  start?: string;
  /** Must exit 0 before such a sandbox is reported running. */
  ready?: string;
  readyTimeoutMs?: number;
}

export interface TemplateInfo {
  name: string;
  digest: string;
  parent: string | null;
  sizeBytes: number;
  fileCount: number;
  env: string[];
  workdir: string | null;
  user: string | null;
  start: string | null;
  ready: string | null;
  builtAt: string;
}

type Options = ConnectionOptions & CallOptions;
type BuildFrame = { type: 'log'; line: string } | { type: 'done'; template: TemplateInfo } | { type: 'error'; code: string; message: string } | { type: 'keepalive' };

function http(options: ConnectionOptions): HttpClient {
  return new HttpClient(new ConnectionConfig(options));
}

function templatePath(name: string): string {
  if (!name) throw new TypeError('A template name is required.');
  return `/v1/templates/${encodeURIComponent(name)}`;
}

export class Template {
  private constructor() {}

  /** Builds a template, calling `onLog` with each build log line. Throws the typed error of a failed build. */
  static async build(recipe: TemplateRecipe, options: Options & { onLog?: (line: string) => void } = {}): Promise<TemplateInfo> {
    // A build can take minutes (Debian packages): no request timeout unless the caller sets one.
    const callOptions: Options = { requestTimeoutMs: 0, ...options };
    for await (const frame of http(options).ndjson<BuildFrame>({ method: 'POST', path: '/v1/templates', json: recipe }, callOptions)) {
      if (frame.type === 'log') options.onLog?.(frame.line);
      else if (frame.type === 'done') return frame.template;
      else if (frame.type === 'error') throw errorFromBody({ code: frame.code as never, message: frame.message }, 0);
    }
    throw errorFromBody({ code: 'internal', message: 'The template build stream ended without a result.' }, 0);
  }

  static async list(options: Options = {}): Promise<TemplateInfo[]> {
    return http(options).json<TemplateInfo[]>({ method: 'GET', path: '/v1/templates' }, options);
  }

  /** Throws `HutchApiError` with code `template_not_found` for an unknown name. */
  static async get(name: string, options: Options = {}): Promise<TemplateInfo> {
    return http(options).json<TemplateInfo>({ method: 'GET', path: templatePath(name) }, options);
  }

  static async delete(name: string, options: Options = {}): Promise<void> {
    await http(options).json({ method: 'DELETE', path: templatePath(name) }, options);
  }
}
