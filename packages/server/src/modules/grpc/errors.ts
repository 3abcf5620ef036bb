import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';

type OutgoingDetail = Extract<ConnectError['details'][number], { desc: unknown }>;
import { rpc } from '@loam/api/grpc';
import { AppError } from '../../platform/errors.js';

/** The gRPC code of each HTTP status an AppError carries (the REST and gRPC answers of one failure agree). */
const CODES: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.NotFound,
  408: Code.DeadlineExceeded,
  409: Code.AlreadyExists,
  410: Code.NotFound,
  412: Code.FailedPrecondition,
  413: Code.ResourceExhausted,
  415: Code.InvalidArgument,
  422: Code.FailedPrecondition,
  423: Code.FailedPrecondition,
  429: Code.ResourceExhausted,
  501: Code.Unimplemented,
  503: Code.Unavailable,
  504: Code.DeadlineExceeded,
};

/** 409s that are about state rather than an existing id: FAILED_PRECONDITION, as gRPC's guide has it. */
const STATE_CONFLICTS = new Set(['dataset_archived', 'version_finalized', 'invalid_state']);

/**
 * The ConnectError (gRPC status) for anything a handler throws. An AppError keeps its detail as
 * the message, its code as google.rpc.ErrorInfo's reason, its fields as google.rpc.BadRequest,
 * and a rate limit's retry time as google.rpc.RetryInfo (and `retry-after`). A ConnectError
 * (the call's deadline or cancellation, a malformed message) passes through; anything else is
 * INTERNAL without its message (`log` gets it).
 */
export function toConnectError(err: unknown, log: (err: unknown) => void): ConnectError {
  if (err instanceof ConnectError) return err;
  if (!(err instanceof AppError)) {
    log(err);
    return new ConnectError('internal error', Code.Internal);
  }
  let code = CODES[err.status] ?? (err.status >= 500 ? Code.Internal : Code.Unknown);
  if (err.status === 409 && STATE_CONFLICTS.has(err.code)) code = Code.FailedPrecondition;
  // A spent tenant quota is a 403 on REST; gRPC has a code of its own for it.
  if (err.code === 'quota_exceeded') code = Code.ResourceExhausted;
  if (code === Code.Internal) log(err);
  const details: OutgoingDetail[] = [
    { desc: rpc.ErrorInfoSchema, value: create(rpc.ErrorInfoSchema, { reason: err.code, domain: 'loam' }) },
  ];
  if (err.fields?.length)
    details.push({
      desc: rpc.BadRequestSchema,
      value: create(rpc.BadRequestSchema, {
        fieldViolations: err.fields.map((f) => ({ field: f.field, reason: f.code, description: f.message })),
      }),
    });
  const retryAfter = err.headers?.['retry-after'];
  if (retryAfter)
    details.push({ desc: rpc.RetryInfoSchema, value: create(rpc.RetryInfoSchema, { retryDelay: { seconds: BigInt(retryAfter) } }) });
  return new ConnectError(err.detail, code, retryAfter ? { 'retry-after': retryAfter } : undefined, details, err);
}
