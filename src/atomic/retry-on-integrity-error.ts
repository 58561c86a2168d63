// retryOnIntegrityError: inside an atomic block, a unique-key violation means a concurrent transaction
// inserted the same key first; turning it into DBSerializationError re-runs the block, which then sees that row.
import type {DataSource, EntityManager} from 'typeorm'
import {SignalbusConfigError, describeError} from '../errors.js'
import {isUniqueViolation} from './database-errors.js'
import {DBSerializationError} from './errors.js'
import {currentContext, runJoined, type TransactionContext} from './transaction-context.js'
import {dataSourceOf, isDataSource} from '../typeorm-compat.js'

/**
 * Runs `block` in the open atomic transaction of `scope` (its DataSource, or the EntityManager the block
 * received). A unique-key violation (PostgreSQL 23505, MySQL/MariaDB 1062, SQLite) becomes a
 * DBSerializationError, so the outermost block is run again. Outside an atomic block it throws a
 * SignalbusConfigError without running `block`.
 */
export async function retryOnIntegrityError<R>(
  scope: DataSource | EntityManager,
  block: (manager: EntityManager) => R | Promise<R>,
): Promise<R> {
  const context = openContext(scope)
  return runJoined(context, async (manager) => {
    try {
      return await block(manager)
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
      throw new DBSerializationError(
        `A unique key was taken by a concurrent transaction (${describeError(error)}); the atomic block will be run again.`,
        {cause: error},
      )
    }
  })
}

function openContext(scope: DataSource | EntityManager): TransactionContext {
  const dataSource = isDataSource(scope) ? scope : dataSourceOf(scope)
  const context = currentContext(dataSource)
  if (context === undefined) {
    throw new SignalbusConfigError('retryOnIntegrityError() must be called inside an atomic block (atomic or executeAtomic) on the same DataSource.')
  }
  if (!context.isOpen) {
    throw new SignalbusConfigError('retryOnIntegrityError() was called after its atomic block had finished (was a promise left unawaited?).')
  }
  if (!isDataSource(scope) && scope.queryRunner !== context.manager.queryRunner) {
    throw new SignalbusConfigError("retryOnIntegrityError() was given an EntityManager that is not the open atomic block's.")
  }
  return context
}
