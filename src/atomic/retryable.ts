// The one rule for "re-run the whole atomic block": a serialization failure or deadlock reported by the
// database, or a DBSerializationError that is not already the final one of a block that gave up.
import {isSerializationFailure} from './database-errors.js'
import {DBSerializationError} from './errors.js'

export function isRetryable(error: unknown): boolean {
  if (error instanceof DBSerializationError) return error.attempts === undefined
  return isSerializationFailure(error)
}
