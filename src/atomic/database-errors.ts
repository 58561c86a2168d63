// Which database errors mean "run the whole transaction again", and which mean "a unique key is taken".
import {errorCode} from '../engine/dialects/dialect.js'

/** PostgreSQL serialization_failure and deadlock_detected; InnoDB deadlock and "record changed since last read". */
const SERIALIZATION_FAILURES = new Set<string | number>(['40001', '40P01', 1213, 1020])
/** PostgreSQL unique_violation; MySQL/MariaDB ER_DUP_ENTRY and ER_DUP_ENTRY_WITH_KEY_NAME; SQLite. */
const UNIQUE_VIOLATIONS = new Set<string | number>([
  '23505',
  1062,
  1586,
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
])
/** SQLite: another connection holds the lock, or a deferred transaction's snapshot went stale. */
const SQLITE_BUSY = /^SQLITE_BUSY/
/** How deep to look through `cause` chains (an application may wrap a driver error in its own). */
const MAX_CAUSE_DEPTH = 5

/** The database's code for the error or for the first error in its `cause` chain that has one. */
export function databaseErrorCode(error: unknown): string | number | undefined {
  let current = error
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth += 1) {
    const code = errorCode(current)
    if (code !== undefined) return code
    current = (current as {cause?: unknown}).cause
  }
  return undefined
}

export function isSerializationFailure(error: unknown): boolean {
  const code = databaseErrorCode(error)
  return code !== undefined && (SERIALIZATION_FAILURES.has(code) || (typeof code === 'string' && SQLITE_BUSY.test(code)))
}

export function isUniqueViolation(error: unknown): boolean {
  const code = databaseErrorCode(error)
  return code !== undefined && UNIQUE_VIOLATIONS.has(code)
}
