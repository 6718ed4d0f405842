export type OperationErrorKind = 'not-found' | 'stale' | 'invalid';

/** Why one operation of a change set cannot be applied at all (before any rule runs). */
export class OperationError extends Error {
  constructor(
    readonly kind: OperationErrorKind,
    /** Index of the operation in the change set. */
    readonly index: number,
    message: string,
    /** For `stale`: the entity and the version it is actually at. */
    readonly current?: { entity: 'asset' | 'connection' | 'site'; id: string; version: number },
    /** JSON Pointer inside the operation, when one field is at fault. */
    readonly path?: string,
  ) {
    super(message);
  }
}
