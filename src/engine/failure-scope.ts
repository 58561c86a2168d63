// The one place that decides whether a failed send is the signals' own fault (narrow it down to them) or the
// system's (the broker, the way to it, the database: stop the model, mark nothing).
import type {DeliveryErrorKind} from '../errors.js'
import {NETWORK_ERROR_CODES} from '../network-errors.js'

export type FailureScope = 'signals' | 'systemic'

const SYSTEMIC_DELIVERY: ReadonlySet<string> = new Set<DeliveryErrorKind>(['unreachable', 'connection-lost', 'channel-closed', 'timeout'])
/** The kinds that name particular messages of the batch. `other` (and no kind at all) names nothing: look further. */
const SIGNALS_DELIVERY: ReadonlySet<string> = new Set<DeliveryErrorKind>(['nacked', 'unroutable', 'too-large', 'unencodable'])


/** How deep to look through `cause` chains (a send method may wrap the publisher's error in its own). */
const MAX_CAUSE_DEPTH = 5

/**
 * 'systemic' for a broker that cannot be reached or lost the connection or channel (a missing exchange too), a
 * confirm timeout, a database failure, a network error, and amqplib's "Channel closed" (IllegalOperationError) —
 * found on the error or anywhere in its `cause` chain. 'signals' for the rest: a nack, an unroutable or too large
 * message, a body that cannot be encoded, and any other error a send method throws. A DeliveryError of kind
 * `other` (a user's own, constructed without a kind) decides nothing by itself: its causes are looked at, and
 * without a systemic one it is the signals' own. The engine still treats "signals" failures that
 * occur whatever the split as systemic (see flush-engine.ts).
 *
 * Errors are recognised by name, not by class: the user's models may publish through another copy of signalbus
 * than the one that runs the CLI (two installs), and `instanceof` fails across copies.
 */
export function failureScope(error: unknown): FailureScope {
  let current = error
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth += 1) {
    const {code, name, kind} = current as {code?: unknown; name?: unknown; kind?: unknown}
    if (name === 'DeliveryError' && typeof kind === 'string') {
      if (SYSTEMIC_DELIVERY.has(kind)) return 'systemic'
      if (SIGNALS_DELIVERY.has(kind)) return 'signals'
    }
    if (name === 'DatabaseError') return 'systemic'
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return 'systemic'
    if (name === 'IllegalOperationError') return 'systemic'
    current = (current as {cause?: unknown}).cause
  }
  return 'signals'
}
