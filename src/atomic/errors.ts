// The errors of the transaction utilities. Misuse (a block called outside `atomic`, a bad option) is a
// SignalbusConfigError from src/errors.ts.
import {shareInstanceofAcrossCopies} from '../errors.js'

/**
 * The block must be run again from the start: thrown by `retryOnIntegrityError` for a unique-key violation
 * (the enclosing atomic block retries), and by `atomic`/`executeAtomic` when they gave up (`attempts` set,
 * `cause` the last serialization failure). Application code may throw it too, to ask for a retry.
 */
export class DBSerializationError extends Error {
  override name = 'DBSerializationError'
  /** How many times the atomic block ran before giving up; undefined while a retry is still possible. */
  readonly attempts: number | undefined

  constructor(message = 'The transaction must be retried.', options: {cause?: unknown; attempts?: number} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.attempts = options.attempts
  }
}

/**
 * An inner atomic block (or `retryOnIntegrityError`) threw, the code around it caught the error and the
 * outermost block returned normally: the transaction is rolled back rather than committed half done.
 * `cause` is the inner error.
 */
export class UnexpectedRollbackError extends Error {
  override name = 'UnexpectedRollbackError'
}

shareInstanceofAcrossCopies(DBSerializationError, 'DBSerializationError')
shareInstanceofAcrossCopies(UnexpectedRollbackError, 'UnexpectedRollbackError')
