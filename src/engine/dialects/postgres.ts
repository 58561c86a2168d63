// PostgreSQL: one round trip claims a burst — BEGIN and DELETE … WHERE key = ANY(ARRAY(SELECT … FOR UPDATE SKIP
// LOCKED)) RETURNING * sent together — and one more commits it.
import type {EntityMetadata, QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {dataSourceOf} from '../../typeorm-compat.js'
import {errorCode, hasPendingRows, hasFilter, keyFilterCondition, sqlLimit, type ClaimFilter, type Dialect, type KeyConditionSyntax} from './dialect.js'

const SERIALIZATION_FAILURE = '40001'
const DEADLOCK_DETECTED = '40P01'
const MINIMUM_SERVER_VERSION = 90500

/** The part of node-postgres's client the claim uses: a simple query with several statements returns one result each. */
interface PgClient {
  query(sql: string, parameters?: unknown[]): Promise<{rows: RawRow[]} | Array<{rows: RawRow[]}>>
}

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED'

/**
 * Locks and deletes up to `limit` rows in one statement. Written as `key IN (SELECT … LIMIT n FOR UPDATE SKIP
 * LOCKED)`, the planner hash-joins the subquery against a sequential scan of the whole table: every burst would
 * read every pending row (17 ms per burst at 100,000 pending, ten times that at a million). A one-column key
 * uses `key = ANY(ARRAY(subquery))`, which runs the subquery once and deletes through the primary-key index;
 * a composite key keeps the IN form with hash and merge joins turned off for this transaction only, which
 * leaves the planner the nested loop over the primary-key index.
 */
function claimStatements(table: SignalTable, limit: string, where = ''): string[] {
  const key = table.sqlKeyColumns.join(', ')
  const condition = where ? ` WHERE ${where}` : ''
  const pick = `SELECT ${key} FROM ${table.sqlName}${condition} ORDER BY ${key} LIMIT ${limit} FOR UPDATE SKIP LOCKED`
  if (table.sqlKeyColumns.length === 1) {
    return [`DELETE FROM ${table.sqlName} WHERE ${key} = ANY(ARRAY(${pick})) RETURNING *`]
  }
  return [
    'SET LOCAL enable_hashjoin = off',
    'SET LOCAL enable_mergejoin = off',
    `DELETE FROM ${table.sqlName} WHERE (${key}) IN (${pick}) RETURNING *`,
  ]
}

const pgKeySyntax: KeyConditionSyntax = {
  placeholder: (index) => `$${index}`,
  rowList: (rows) => `(${rows.join(', ')})`,
}

/**
 * Runs several statements in one round trip (or one statement with parameters) on the query runner's own
 * connection and returns every result: TypeORM's query() keeps only one statement's rows. Like TypeORM it refuses a released runner (after a
 * connection error its client must not be used) and reports the query to the data source's logger.
 */
async function queryThroughDriver(runner: QueryRunner, sql: string, parameters?: unknown[]): Promise<Array<{rows: RawRow[]}>> {
  if (runner.isReleased) throw new Error('Query runner already released. Cannot run queries anymore.')
  const {logger} = dataSourceOf(runner)
  const client = (await runner.connect()) as PgClient
  logger.logQuery(sql, parameters, runner)
  try {
    const results = await client.query(sql, parameters)
    return Array.isArray(results) ? results : [results]
  } catch (error) {
    logger.logQueryError(error as Error, sql, parameters, runner)
    throw error
  }
}

export const postgresDialect = (): Dialect => ({
  name: 'postgres',
  overlapsBursts: true,

  async checkServer(runner: QueryRunner): Promise<void> {
    const rows = (await runner.query('SHOW server_version_num')) as Array<{server_version_num: string}>
    const version = Number(rows[0]?.server_version_num)
    if (version < MINIMUM_SERVER_VERSION) {
      throw new DatabaseError(`PostgreSQL ${version} does not support SKIP LOCKED; signalbus needs 9.5 or newer.`)
    }
  },

  tableQualifier(metadata: EntityMetadata): string | undefined {
    return metadata.schema
  },

  async claim(runner: QueryRunner, table: SignalTable, limit: number, filter?: ClaimFilter): Promise<RawRow[]> {
    if (!hasFilter(filter)) {
      // Several statements travel together only in the simple protocol, which takes no parameters (see sqlLimit).
      const sql = [BEGIN, ...claimStatements(table, sqlLimit(limit))].join(';\n')
      return (await queryThroughDriver(runner, sql)).at(-1)?.rows ?? []
    }
    // Keys go as parameters, so the claiming statement takes a round trip of its own after the BEGIN.
    const condition = keyFilterCondition(table, filter, pgKeySyntax)
    const statements = claimStatements(table, sqlLimit(limit), condition.sql)
    await queryThroughDriver(runner, [BEGIN, ...statements.slice(0, -1)].join(';\n'))
    // (Through the driver: TypeORM's query() answers a DELETE with [rows, count].)
    return (await queryThroughDriver(runner, statements.at(-1)!, condition.parameters)).at(-1)?.rows ?? []
  },

  hasPending: hasPendingRows,

  oldestAgeQuery: (table, column) =>
    `SELECT EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - MIN(${column})::timestamptz)) AS age FROM ${table.sqlName}`,

  async commit(runner: QueryRunner): Promise<void> {
    await runner.query('COMMIT')
  },

  async rollback(runner: QueryRunner): Promise<void> {
    await runner.query('ROLLBACK')
  },

  isTransient(error: unknown): boolean {
    const code = errorCode(error)
    return code === SERIALIZATION_FAILURE || code === DEADLOCK_DETECTED
  },
})
