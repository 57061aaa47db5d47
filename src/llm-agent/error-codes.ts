/** Stable codes of the errors the LLM agent throws (each has an HTTP status in the server's table). */
export type LlmAgentErrorCode = 'LLM_OUTPUT_INVALID';
