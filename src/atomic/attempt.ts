// One run of an outermost atomic block: its own connection and transaction, BEGIN → body → COMMIT, and a
// rollback when anything fails. The retry loop in atomic.ts decides what happens next.
import type {DataSource, EntityManager, QueryRunner} from 'typeorm'
import {describeError} from '../errors.js'
import type {Logger} from '../logger.js'
import {isRetryable} from './retryable.js'
import {UnexpectedRollbackError} from './errors.js'
import type {IsolationLevel} from './isolation.js'
import {TransactionContext, runInContext} from './transaction-context.js'

/** Where an attempt failed: starting the transaction, in the block, or at COMMIT. */
export type AttemptStage = 'begin' | 'body' | 'commit'

export type AttemptResult<R> = {ok: true; value: R} | {ok: false; error: unknown; stage: AttemptStage}

export async function runAttempt<R>(
  dataSource: DataSource,
  isolation: IsolationLevel | undefined,
  body: (manager: EntityManager) => R | Promise<R>,
  logger: Logger,
): Promise<AttemptResult<R>> {
  const runner = dataSource.createQueryRunner()
  const context = new TransactionContext(dataSource, runner.manager, isolation)
  let stage: AttemptStage = 'begin'
  try {
    await runner.startTransaction(isolation)
    stage = 'body'
    const value = await runInContext(context, () => body(runner.manager))
    const rollbackOnly = context.rollbackOnlyCause
    if (rollbackOnly !== undefined) throw rollbackOnlyError(rollbackOnly.error)
    stage = 'commit'
    await runner.commitTransaction()
    return {ok: true, value}
  } catch (error) {
    if (runner.isTransactionActive) await rollbackQuietly(runner, logger)
    return {ok: false, error, stage}
  } finally {
    context.finish()
    await runner.release()
  }
}

/**
 * The block returned normally although an inner block threw: a retryable inner error is raised again (the
 * whole block is re-run); any other one must not be committed over.
 */
function rollbackOnlyError(inner: unknown): unknown {
  if (isRetryable(inner)) return inner
  return new UnexpectedRollbackError(
    `The transaction was rolled back: an inner atomic block threw (${describeError(inner)}) and the error was caught.`,
    {cause: inner},
  )
}

/** A failed ROLLBACK must not hide the error that caused it (the connection is released either way). */
async function rollbackQuietly(runner: QueryRunner, logger: Logger): Promise<void> {
  try {
    await runner.rollbackTransaction()
  } catch (error) {
    logger.warn(`atomic: ROLLBACK failed: ${describeError(error)}`)
  }
}
