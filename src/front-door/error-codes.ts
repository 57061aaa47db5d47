/** Stable codes of the errors the bus front door answers with (each has an HTTP status in the server's table). */
export type FrontDoorErrorCode = 'INGRESS_OVERLOADED' | 'INVALID_REQUEST' | 'TENANT_MISMATCH';
