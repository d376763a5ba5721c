/**
 * The one cancellation type lives in the errors module (`core/errors/error.ts`): a cancel is not a failure, it is
 * the reason of every abort and is recognised with `isCancelled` (never by `name`). Kept here for the imports that
 * name this file.
 */
export { cancel, cancelReason, CancelledError, isCancelled } from '../errors/error';
