// Tells "the database or the broker could not be reached" from "this model's signals fail" (a poison signal,
// a missing exchange): only the first makes the relay not ready. Judged from the error and its causes.
import {DeliveryError, SignalSendError, describeError, type DeliveryErrorKind} from '../errors.js'
import {NETWORK_ERROR_CODES} from '../network-errors.js'

export type UnreachableService = 'database' | 'broker'


/** What the RabbitMQ publisher says when the broker, not a message, is the problem. */
const LOST_DELIVERY: ReadonlySet<DeliveryErrorKind> = new Set(['unreachable', 'connection-lost', 'timeout'])
/** A DeliveryError of these kinds says nothing about the broker's reachability: look at its causes and message. */
const UNSAID_DELIVERY: ReadonlySet<DeliveryErrorKind> = new Set(['other'])

/** PostgreSQL SQLSTATEs of a lost or refused session: class 08 (connection exception), 57P01–57P03 (shutdown, starting up). */
const DATABASE_STATES = /^(08...|57P0[1-3])$/

const LOST_DATABASE = /connection (was lost|terminated)|timeout exceeded when trying to connect|Could not initialize the data source|Connection lost|server closed the connection|the database system is (starting up|shutting down)/i
const LOST_BROKER = /Could not connect to RabbitMQ|Could not open a RabbitMQ channel|Socket closed|Connection closed|did not confirm .* within|were not confirmed: .*(close|connection|socket)/i

function* chain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>()
  for (let link = error; link !== undefined && link !== null && !seen.has(link); link = (link as {cause?: unknown}).cause) {
    seen.add(link)
    yield link
  }
}

/** Node puts the name in `code` and a number in `errno`; drivers (TypeORM's QueryFailedError) nest theirs. */
function codesOf(link: unknown): string[] {
  const candidate = link as {code?: unknown; driverError?: {code?: unknown}} | null
  return [candidate?.code, candidate?.driverError?.code].filter((code): code is string => typeof code === 'string')
}

function looksLost(error: unknown, pattern: RegExp): boolean {
  for (const link of chain(error)) {
    if (pattern === LOST_BROKER && link instanceof DeliveryError && !UNSAID_DELIVERY.has(link.kind)) return LOST_DELIVERY.has(link.kind)
    for (const code of codesOf(link)) {
      if (NETWORK_ERROR_CODES.has(code) || (pattern === LOST_DATABASE && DATABASE_STATES.test(code))) return true
    }
    if (pattern.test(describeError(link))) return true
  }
  return false
}

/** Which service a failure says is unreachable, or undefined when the failure is the model's own. */
export function unreachableService(error: unknown): UnreachableService | undefined {
  const links = [...chain(error)]
  const send = links.find((link) => link instanceof SignalSendError)
  if (send) return looksLost((send as Error).cause, LOST_BROKER) ? 'broker' : undefined
  // Anything else failed on the way to or from the database (claim, commit, counting), DatabaseError or not.
  return looksLost(error, LOST_DATABASE) ? 'database' : undefined
}
