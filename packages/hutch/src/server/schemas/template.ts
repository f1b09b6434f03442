/**
 * Schemas of template recipes and template info on the wire. Over the API a template starts from
 * another template or from Debian's archive; host paths (import from a directory or tarball, COPY
 * from a host file) are for the local CLI only, so a client cannot read the server's files.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringMap } from './common.js';

const AbsolutePath = Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' });

const Step = Type.Union(
  [
    Type.Object({ run: Type.String({ minLength: 1, maxLength: 65_536 }) }, { additionalProperties: false }),
    Type.Object({ env: StringMap }, { additionalProperties: false }),
    Type.Object({ workdir: AbsolutePath }, { additionalProperties: false }),
    Type.Object({ user: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
    Type.Object(
      { copy: Type.Object({ dest: AbsolutePath, content: Type.String({ maxLength: 16 * 1024 * 1024 }), mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 0o7777 })) }, { additionalProperties: false }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'One build step: `run` a command, set `env`, `workdir` or `user`, or `copy` inline content to a path.' },
);

export const TemplateRecipeSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description: 'The template name.' }),
    from: Type.Union([
      Type.Object({ template: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
      Type.Object({ debootstrap: Type.Object({ suite: Type.String({ pattern: '^[a-z]+$' }), include: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9+.-]*$' }), { maxItems: 200 }) }, { additionalProperties: false }) }, { additionalProperties: false }),
    ]),
    steps: Type.Optional(Type.Array(Step, { maxItems: 500 })),
    start: Type.Optional(Type.String({ minLength: 1, description: 'Started detached in every sandbox made from the template.' })),
    ready: Type.Optional(Type.String({ minLength: 1, description: 'Must exit 0 before such a sandbox is reported running.' })),
    readyTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
  },
  { $id: 'TemplateRecipe', additionalProperties: false },
);
export type TemplateRecipeBody = Static<typeof TemplateRecipeSchema>;

export const TemplateInfoSchema = Type.Object(
  {
    name: Type.String(),
    digest: Type.String({ description: 'Content address of the root filesystem (sha256 of the recipe and its parent).' }),
    parent: Type.Union([Type.String(), Type.Null()]),
    sizeBytes: Type.Number(),
    fileCount: Type.Number(),
    env: Type.Array(Type.String(), { description: 'Names of the env vars the template sets.' }),
    workdir: Type.Union([Type.String(), Type.Null()]),
    user: Type.Union([Type.String(), Type.Null()]),
    start: Type.Union([Type.String(), Type.Null()]),
    ready: Type.Union([Type.String(), Type.Null()]),
    builtAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'TemplateInfo', additionalProperties: false },
);

export const TemplateParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) }, { additionalProperties: false });

export const TemplateBuildFrame = Type.Union(
  [
    Type.Object({ type: Type.Literal('log'), line: Type.String() }),
    Type.Object({ type: Type.Literal('done'), template: Type.Ref('TemplateInfo') }),
    Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String() }),
    Type.Object({ type: Type.Literal('keepalive') }),
  ],
  { $id: 'TemplateBuildFrame' },
);
