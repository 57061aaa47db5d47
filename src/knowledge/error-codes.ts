/** Stable codes of the errors the knowledge base throws (each has an HTTP status in the server's table). */
export type KnowledgeErrorCode =
  | 'EMBEDDER_CLOSED'
  | 'EMBEDDER_FAILED'
  | 'KNOWLEDGE_GRAPH_INVALID'
  | 'KNOWLEDGE_INVALID'
  | 'KNOWLEDGE_STORE_CORRUPT'
  | 'KNOWLEDGE_STORE_LOCKED'
  | 'QUOTA_EXCEEDED'
  | 'SCAN_THREAD_FAILED'
  | 'VECTOR_INVALID';
