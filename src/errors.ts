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
 * Why the broker did not store a batch. The first kinds say the broker or the way to it is in trouble (every
 * signal would fail now); the last ones that the broker refused particular messages of the batch.
 */
export type DeliveryFailureKind =
  | 'connect' // no connection or channel could be opened
  | 'connection-lost' // the connection closed before every confirm arrived
  | 'channel-closed' // the broker closed the channel for a reason that is not one message's (missing exchange, access)
  | 'timeout' // the confirms did not come in time
  | 'nacked' // the broker refused messages (nack)
  | 'unroutable' // a mandatory message was returned
  | 'message-refused' // the broker closed the channel over one message (406 PRECONDITION_FAILED: too large …)
  | 'unencodable' // a message could not be encoded (its body is not JSON-serialisable)

/** The broker did not store a batch: nack, unroutable mandatory message, closed channel or connection, timeout. */
export class DeliveryError extends Error {
  override name = 'DeliveryError'
  readonly kind: DeliveryFailureKind
  constructor(message: string, options: {kind: DeliveryFailureKind; cause?: unknown}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.kind = options.kind
  }
}

/** A dead-letter command or call needs signalbus's bookkeeping tables, and they do not exist. */
export class BookkeepingNotSetUpError extends SignalbusConfigError {
  override name = 'BookkeepingNotSetUpError'
}
