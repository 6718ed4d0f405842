import { OperationError } from '../core/changes/operation-error.ts';
import type { Operation } from '../core/changes/operations.ts';
import type { Violation } from '../core/rules/types.ts';
import { ApiError } from '../http/errors.ts';
import { etagOf } from '../http/etag.ts';
import type { FieldPointer } from './write-path.ts';

/* How the write path words what it refuses: the request field at fault, the answer's message. */

/** The last operation of `ops` that sets `assetId`'s configuration, and the field of it that holds it. */
export function lastConfigOp(ops: Operation[], assetId: string): { index: number; field: string } {
  for (let i = ops.length - 1; i >= 0; i--) {
    const o = ops[i];
    if (o.op === 'setConfig' && o.id === assetId) return { index: i, field: '/config' };
    if (o.op === 'updateAsset' && o.id === assetId && o.patch.config !== undefined) return { index: i, field: '/patch/config' };
    if (o.op === 'createAsset' && o.asset.id === assetId) return { index: i, field: '/asset/config' };
  }
  const created = ops.findIndex((o) => o.op === 'createAsset' && o.asset.id === undefined);
  return { index: created, field: created >= 0 ? '/asset/config' : '' };
}

/** The answer to an operation that cannot apply: 404, 412 with the current ETag, or 422 at the field. */
export function operationProblem(err: unknown, pointer: FieldPointer): unknown {
  if (!(err instanceof OperationError)) return err;
  const where = `operation ${err.index} (${pointer(err.index, '') || 'request'})`;
  switch (err.kind) {
    case 'not-found':
      return new ApiError('NOT_FOUND', `${where}: ${err.message}.`);
    case 'stale': {
      const etag = err.current ? etagOf(err.current.entity, err.current.id, err.current.version) : undefined;
      return new ApiError('PRECONDITION_FAILED', `${where}: ${err.message}; reload it and apply your change again.`, {
        extra: { currentEtag: etag, entity: err.current },
        headers: etag ? { ETag: etag } : {},
      });
    }
    case 'invalid':
      return new ApiError('VALIDATION_FAILED', `${where}: ${err.message}.`, {
        extra: { errors: [{ in: 'body', path: pointer(err.index, err.path ?? ''), message: err.message }] },
      });
  }
}

/** The message of a 409: the one error, or how many and the first. */
export function describeRefusal(violations: Violation[]): string {
  const errors = violations.filter((v) => v.severity === 'error');
  const first = errors[0];
  return errors.length === 1 ? `The change was refused: ${first.message}` : `The change was refused by ${errors.length} rule violations; the first: ${first.message}`;
}
