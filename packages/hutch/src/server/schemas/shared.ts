/**
 * The component schemas registered once with `app.addSchema` (routes point at them with `ref()`),
 * which also become `components.schemas` of the OpenAPI document.
 */
import type { TSchema } from '@sinclair/typebox';
import { ErrorBodySchema } from './common.js';
import { CommandResultSchema, ExecBodySchema, ProcessFrameSchema, ProcessInfoSchema, SessionFrameSchema, SessionInfoSchema } from './process.js';
import { CapabilityReportSchema, FileEntrySchema, FileEventSchema, SandboxEventSchema, SnapshotInfoSchema } from './resources.js';
import { TemplateBuildFrame, TemplateInfoSchema, TemplateRecipeSchema } from './template.js';
import { CheckpointInfoSchema, CodebaseInfoSchema, CommitResultSchema, WorkspaceChangeSchema } from './workspace.js';
import { CreatedSandboxSchema, CreateSandboxBodySchema, NetworkPolicySchema, SandboxInfoSchema, SandboxListSchema, SandboxStatsSchema } from './sandbox.js';
import { NetworkDecisionFrameSchema, NetworkDecisionSchema } from './network.js';

export const SHARED_SCHEMAS: readonly TSchema[] = [
  ErrorBodySchema,
  NetworkPolicySchema,
  NetworkDecisionSchema,
  NetworkDecisionFrameSchema,
  CreateSandboxBodySchema,
  SandboxInfoSchema,
  CreatedSandboxSchema,
  SandboxListSchema,
  SandboxStatsSchema,
  ExecBodySchema,
  ProcessInfoSchema,
  CommandResultSchema,
  ProcessFrameSchema,
  SessionInfoSchema,
  SessionFrameSchema,
  FileEntrySchema,
  FileEventSchema,
  SnapshotInfoSchema,
  SandboxEventSchema,
  CapabilityReportSchema,
  TemplateRecipeSchema,
  TemplateInfoSchema,
  TemplateBuildFrame,
  CodebaseInfoSchema,
  WorkspaceChangeSchema,
  CheckpointInfoSchema,
  CommitResultSchema,
];
