// Typed errors: the CLI maps each class to an exit code in one place (src/cli/exit-codes.ts).
import {inspect} from 'node:util'

const CLASS_BRAND = Symbol.for('signalbus.errorClass')

/**
 * Makes `instanceof ErrorClass` true for instances made by any loaded copy of signalbus (its ESM and CommonJS
 * builds are two module instances in one process: an app's CommonJS code and the ESM CLI), by a brand that the
 * class itself owns, so that a subclass brand never makes its parent's instances pass as the subclass.
 */
export function shareInstanceofAcrossCopies(errorClass: abstract new (...args: never[]) => Error, brand: string): void {
  const key = `signalbus.${brand}`
  Object.defineProperty(errorClass, CLASS_BRAND, {value: key})
  Object.defineProperty(errorClass, Symbol.hasInstance, {
    value(value: unknown): boolean {
      if (typeof value !== 'object' || value === null) return false
      for (let proto: unknown = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
        const constructor = (proto as {constructor?: unknown}).constructor
        if (typeof constructor === 'function' && Object.hasOwn(constructor, CLASS_BRAND) && (constructor as unknown as Record<symbol, unknown>)[CLASS_BRAND] === key) return true
      }
      return false
    },
  })
}

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
 * Why the broker did not store a batch. The first four say the broker, or the way to it, is in trouble: every signal
 * would fail now (the flush engine stops the model; readiness counts `unreachable`, `connection-lost` and `timeout`
 * as "broker unreachable"). The next four are about particular messages of the batch (`failedMessages` says which);
 * the engine narrows a failing burst down to them. `other` is for a DeliveryError constructed without a kind (a
 * library user's own send code) and is treated as the signals' own, like any other error a send method throws.
 */
export type DeliveryErrorKind =
  | 'unreachable' // no node answered, or no channel could be opened: nothing was published
  | 'connection-lost' // the connection closed before every confirm arrived
  | 'channel-closed' // the broker closed the channel for a reason not of one message's content (missing exchange, access refused)
  | 'timeout' // the confirms did not come in time
  | 'nacked' // the broker refused messages (e.g. a queue with `x-overflow: reject-publish` is full)
  | 'unroutable' // mandatory messages no queue was bound for were returned
  | 'too-large' // messages bigger than the broker's max_message_size
  | 'unencodable' // a message could not be encoded (a body that is not JSON-serialisable)
  | 'other' // not said (the constructor's default)

export interface DeliveryErrorOptions {
  cause?: unknown
  /** Default `other`: treated as the signals' own failure (narrowed down), as any error a send method throws. */
  kind?: DeliveryErrorKind
  /** Indexes, in the batch given to publish(), of the messages the failure is about. */
  failedMessages?: readonly number[]
}

/** The broker did not store a batch: nack, unroutable mandatory message, closed channel or connection, timeout. */
export class DeliveryError extends Error {
  override name = 'DeliveryError'
  readonly kind: DeliveryErrorKind
  /** Which messages of the batch failed, when the failure is about particular ones (the others may have been stored). */
  readonly failedMessages: readonly number[] | undefined

  constructor(message: string, options: DeliveryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.kind = options.kind ?? 'other'
    this.failedMessages = options.failedMessages
  }
}

/** A dead-letter command or call needs signalbus's bookkeeping tables, and they do not exist. */
export class BookkeepingNotSetUpError extends SignalbusConfigError {
  override name = 'BookkeepingNotSetUpError'
}

shareInstanceofAcrossCopies(SignalbusConfigError, 'SignalbusConfigError')
shareInstanceofAcrossCopies(DatabaseError, 'DatabaseError')
shareInstanceofAcrossCopies(SignalSendError, 'SignalSendError')
shareInstanceofAcrossCopies(FlushError, 'FlushError')
shareInstanceofAcrossCopies(DeliveryError, 'DeliveryError')
