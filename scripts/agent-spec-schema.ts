// Regenerates schemas/agent-spec.schema.json from the zod schema: `npm run schema:agent-spec`.
import { writeFileSync } from 'node:fs';
import { AGENT_SPEC_SCHEMA_PATH, agentSpecJsonSchemaText } from '../src/spec/index.ts';

writeFileSync(new URL(`../${AGENT_SPEC_SCHEMA_PATH}`, import.meta.url), agentSpecJsonSchemaText());
console.log(`wrote ${AGENT_SPEC_SCHEMA_PATH}`);
