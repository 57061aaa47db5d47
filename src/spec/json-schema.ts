import { z } from 'zod';
import { agentSpecSchema } from './agent-spec-schema.ts';

/** Where the published schema lives, from the repository root. */
export const AGENT_SPEC_SCHEMA_PATH = 'schemas/agent-spec.schema.json';

/**
 * The JSON Schema of an agent spec file, generated from `agentSpecSchema` (what a spec may
 * contain as written: defaults not required). Editors validate spec files against it via `$schema`.
 */
export function agentSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(agentSpecSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://agentfleet.dev/schemas/agent-spec.schema.json',
    title: 'Agentfleet agent spec',
    description:
      'One agent definition (YAML or JSON), loaded from an agents folder or PUT /v1/definitions/:name.',
    ...schema,
  };
}

/** The schema as the committed file's text (two-space JSON, trailing newline). */
export function agentSpecJsonSchemaText(): string {
  return `${JSON.stringify(agentSpecJsonSchema(), null, 2)}\n`;
}
