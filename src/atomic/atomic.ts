// atomic / executeAtomic: run a block in one transaction, join the outermost block when nested, and re-run
// the whole block on a serialization failure or deadlock (also at COMMIT), with jittered exponential backoff.
import type {DataSource, EntityManager} from 'typeorm'
import {SignalbusConfigError, describeError} from '../errors.js'
import {silentLogger, type Logger} from '../logger.js'
import {sleep} from '../sleep.js'
import {runAttempt, type AttemptStage} from './attempt.js'
import {backoffDelay, type BackoffOptions} from './backoff.js'
import {databaseErrorCode} from './database-errors.js'
import {DBSerializationError} from './errors.js'
import {isWeaker, isolationFor, type IsolationLevel} from './isolation.js'
import {isRetryable} from './retryable.js'
import {currentContext, runJoined, type TransactionContext} from './transaction-context.js'
import {withConnectionTurn} from './shared-connection.js'

const DEFAULT_MAX_ATTEMPTS = 6
const DEFAULT_RETRY_DELAY_MS = 100
const DEFAULT_MAX_RETRY_DELAY_MS = 5_000

export interface AtomicOptions {
  /**
   * The transaction's isolation level. Default: the DataSource's `isolationLevel` option, else
   * REPEATABLE READ (SERIALIZABLE on SQLite). In a nested block it only asserts that the open
   * transaction is at least that strong.
   */
  isolation?: IsolationLevel
  /** How many times the block may run in all, the first run included (default 6). */
  maxAttempts?: number
  /** The first retry waits a random time below this many ms; each further retry doubles the bound (default 100). */
  retryDelayMs?: number
  /** The largest bound of a wait, in ms (default 5000). */
  maxRetryDelayMs?: number
  /** Receives a debug line per retry and a warning when a ROLLBACK fails. Default: silent. */
  logger?: Logger
  /** Called before each wait, for metrics or tests. */
  onRetry?: (retry: AtomicRetry) => void
}

/** What `onRetry` is told about a failed attempt that is about to be re-run. */
export interface AtomicRetry {
  /** The attempt that failed: 1 for the first run. */
  attempt: number
  /** Where it failed: in the block, or at COMMIT. */
  stage: AttemptStage
  /** The database's error code ('40001', '40P01', 1213, 1020, '23505' …), if it reported one. */
  code: string | number | undefined
  error: unknown
  /** How long it waits before the next attempt. */
  delayMs: number
}

/** A block that runs in a transaction: it receives the transaction's EntityManager, then the caller's arguments. */
export type AtomicBlock<Args extends unknown[], R> = (manager: EntityManager, ...args: Args) => R | Promise<R>

/** A block that takes no arguments of its own. */
type Body<R> = AtomicBlock<[], R>

interface Settings {
  isolation: IsolationLevel | undefined
  maxAttempts: number
  backoff: BackoffOptions
  logger: Logger
  onRetry: ((retry: AtomicRetry) => void) | undefined
}

/**
 * Wraps `block` so that each call runs it atomically on `dataSource` and resolves to its value: committed
 * when it returns, rolled back (and the error rethrown) when it throws, re-run on serialization failures.
 */
export function atomic<Args extends unknown[], R>(
  dataSource: DataSource,
  block: AtomicBlock<Args, R>,
  options: AtomicOptions = {},
): (...args: Args) => Promise<R> {
  const settings = settingsFrom(options)
  return (...args: Args) => runAtomic(dataSource, (manager) => block(manager, ...args), settings)
}

/** Runs `block` atomically now (see `atomic`) and resolves to its value. */
export async function executeAtomic<R>(
  dataSource: DataSource,
  block: Body<R>,
  options: AtomicOptions = {},
): Promise<R> {
  return runAtomic(dataSource, block, settingsFrom(options))
}

function runAtomic<R>(dataSource: DataSource, block: Body<R>, settings: Settings): Promise<R> {
  const open = currentContext(dataSource)
  if (open?.isOpen) return runNested(open, block, settings)
  return runOutermost(dataSource, block, settings)
}

/** A nested block is part of the outer transaction: no BEGIN, no COMMIT, no retry loop of its own. */
function runNested<R>(context: TransactionContext, block: Body<R>, settings: Settings): Promise<R> {
  return runJoined(context, (manager) => {
    if (settings.isolation !== undefined && isWeaker(context.isolation, settings.isolation)) {
      throw new SignalbusConfigError(
        `A nested atomic block asks for ${settings.isolation} but the open transaction runs ${context.isolation}; ` +
          'set the isolation level on the outermost block.',
      )
    }
    return block(manager)
  })
}

async function runOutermost<R>(dataSource: DataSource, block: Body<R>, settings: Settings): Promise<R> {
  const isolation = isolationFor(dataSource, settings.isolation)
  for (let attempt = 1; ; attempt += 1) {
    const result = await withConnectionTurn(dataSource, () => runAttempt(dataSource, isolation, block, settings.logger))
    if (result.ok) return result.value
    const {error, stage} = result
    if (!isRetryable(error)) throw error
    if (attempt >= settings.maxAttempts) {
      throw new DBSerializationError(`The atomic block failed ${attempt} times; giving up: ${describeError(error)}`, {
        cause: error,
        attempts: attempt,
      })
    }
    const retry: AtomicRetry = {attempt, stage, code: databaseErrorCode(error), error, delayMs: backoffDelay(attempt, settings.backoff)}
    settings.logger.debug(
      `atomic: attempt ${attempt} of ${settings.maxAttempts} failed ${stage === 'commit' ? 'at COMMIT' : 'in the block'} ` +
        `(${retry.code ?? 'retry requested'}: ${describeError(error)}); running it again in ${retry.delayMs} ms`,
    )
    settings.onRetry?.(retry)
    await sleep(retry.delayMs)
  }
}

function settingsFrom(options: AtomicOptions): Settings {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  const baseMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS
  const maxMs = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new SignalbusConfigError(`maxAttempts must be a whole number of at least 1, not ${maxAttempts}.`)
  }
  for (const [name, value] of [['retryDelayMs', baseMs], ['maxRetryDelayMs', maxMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new SignalbusConfigError(`${name} must be a number of milliseconds ≥ 0, not ${value}.`)
  }
  return {isolation: options.isolation, maxAttempts, backoff: {baseMs, maxMs}, logger: options.logger ?? silentLogger, onRetry: options.onRetry}
}
