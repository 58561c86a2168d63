import {inspect} from 'node:util'
// Typed errors: the CLI maps each class to an exit code in one place (src/cli/exit-codes.ts).

/** Usage or configuration is wrong: bad flags, a data source that does not load, unknown names under strict mode. */
export class SignalbusConfigError extends Error {
  override name = 'SignalbusConfigError'
}

/** The database cannot be used for flushing (unsupported type or version, unreachable, missing table). */
export class DatabaseError extends Error {
  override name = 'DatabaseError'
}

/** A model's send method failed; the burst was rolled back and its rows stay pending. */
export class SignalSendError extends Error {
  override name = 'SignalSendError'
  constructor(
    readonly model: string,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(message, options)
  }
}

/** One or more models failed while the others were flushed; `report` tells what was sent. */
export class FlushError extends Error {
  override name = 'FlushError'
  constructor(
    message: string,
    readonly report: import('./flush-report.js').FlushReport,
  ) {
    super(message)
  }
}

/**
 * The message of any thrown value, on one line. Errors thrown in Node's loader thread arrive as
 * prototype-less objects that String() cannot convert; inspect() renders those.
 */
export function describeError(error: unknown): string {
  const message = messageOf(error)
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error'
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  const candidate = error as {message?: unknown} | null
  if (typeof candidate?.message === 'string') return candidate.message
  try {
    return String(error)
  } catch {
    return inspect(error, {breakLength: Infinity, depth: 2})
  }
}

/**
 * Why the broker did not store a batch. The first group is about particular messages (`failedMessages` says which):
 * - `nack`: the broker refused them (e.g. a queue with `x-overflow: reject-publish` is full);
 * - `returned`: mandatory messages no queue was bound for;
 * - `too-large`: bigger than the broker's `max_message_size`;
 * - `no-exchange`: sent to an exchange that does not exist;
 * - `invalid-message`: could not be encoded (a body that is not JSON-serialisable).
 * The second is about the way to the broker, whatever the messages: `connection` (no node answered, or the
 * connection was lost before the confirms came), `channel` (the broker closed the channel for another reason),
 * `timeout`. `other` is for DeliveryErrors constructed without a kind (a user's own publisher).
 */
export type DeliveryErrorKind =
  | 'nack'
  | 'returned'
  | 'too-large'
  | 'no-exchange'
  | 'invalid-message'
  | 'connection'
  | 'channel'
  | 'timeout'
  | 'other'

export interface DeliveryErrorOptions {
  cause?: unknown
  kind?: DeliveryErrorKind
  /** Indexes, in the batch given to publish(), of the messages the failure is about (message kinds only). */
  failedMessages?: readonly number[]
}

/** The broker did not store a batch: nack, unroutable mandatory message, closed channel or connection, timeout. */
export class DeliveryError extends Error {
  override name = 'DeliveryError'
  readonly kind: DeliveryErrorKind
  /** For the message kinds: which messages of the batch failed (the others may have been stored). */
  readonly failedMessages: readonly number[] | undefined

  constructor(message: string, options: DeliveryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.kind = options.kind ?? 'other'
    this.failedMessages = options.failedMessages
  }
}
