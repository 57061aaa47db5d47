/** Stable codes of the errors provenance throws (each has an HTTP status in the server's table). */
export type ProvenanceErrorCode = 'PROVENANCE_STORE_CORRUPT' | 'PROVENANCE_STORE_UNAVAILABLE';
