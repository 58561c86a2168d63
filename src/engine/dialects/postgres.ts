// PostgreSQL: one round trip claims a burst — BEGIN and DELETE … WHERE key = ANY(ARRAY(SELECT … FOR UPDATE SKIP
// LOCKED)) RETURNING * sent together — and one more commits it. An ordered model's claim leases keys in the same
// statement (see ../ordering.ts).
import type {EntityMetadata, QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {errorCode, sqlLimit, type Dialect} from './dialect.js'
import {headsToClaim, isOrdered, recordOrderedClaim} from '../ordering.js'

const SERIALIZATION_FAILURE = '40001'
const DEADLOCK_DETECTED = '40P01'
const MINIMUM_SERVER_VERSION = 90500

/** The part of node-postgres's client the claim uses: a simple query with several statements returns one result each. */
interface PgClient {
  query(sql: string): Promise<{rows: RawRow[]} | Array<{rows: RawRow[]}>>
}

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED'

/**
 * Locks and deletes up to `limit` rows in one statement, and returns them in primary-key order (DELETE … RETURNING
 * alone yields no particular order). Written as `key IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, the planner
 * hash-joins the subquery against a sequential scan of the whole table: every burst would read every pending row
 * (17 ms per burst at 100,000 pending, ten times that at a million). A one-column key uses `key = ANY(ARRAY(
 * subquery))`, which runs the subquery once and deletes through the primary-key index; a composite key keeps the
 * IN form with hash and merge joins turned off for this transaction only, which leaves the planner the nested loop
 * over the primary-key index.
 */
function claimStatements(table: SignalTable, limit: string, heads: string | undefined): string[] {
  const key = table.sqlKeyColumns.join(', ')
  const pick = heads === undefined ? pickAny(table, limit) : pickOrdered(table, limit, heads)
  const claimed = (condition: string): string =>
    `WITH claimed AS (DELETE FROM ${table.sqlName} WHERE ${condition} RETURNING *) SELECT * FROM claimed ORDER BY ${key}`
  if (table.sqlKeyColumns.length === 1) return [claimed(`${key} = ANY(ARRAY(${pick}))`)]
  return ['SET LOCAL enable_hashjoin = off', 'SET LOCAL enable_mergejoin = off', claimed(`(${key}) IN (${pick})`)]
}

/** Any `limit` rows no other transaction holds, oldest key first. */
function pickAny(table: SignalTable, limit: string): string {
  const key = table.sqlKeyColumns.join(', ')
  return `SELECT ${key} FROM ${table.sqlName} ORDER BY ${key} LIMIT ${limit} FOR UPDATE SKIP LOCKED`
}

/**
 * The ordered pick (see ../ordering.ts): lease up to `heads` keys by locking their lowest visible rows with SKIP
 * LOCKED, then lock those keys' rows in key order up to `limit`. The NOT EXISTS sub-select is not a locking read:
 * it sees a lower row that another burst has claimed (its delete is not committed), so a key in flight has no
 * head. The ARRAY(…) sub-select runs once (an InitPlan), so the lease is taken once per claim. Its rows never
 * change but by a delete, so the waiting FOR UPDATE of the second step meets a row of another transaction only
 * when the application committed a lower key of a leased key late (see docs): it then waits for that burst.
 */
function pickOrdered(table: SignalTable, limit: string, heads: string): string {
  const key = table.sqlKeyColumns.join(', ')
  const qualified = (alias: string, columns: string[]): string[] => columns.map((column) => `${alias}.${column}`)
  const ordering = table.sqlOrderingColumns
  const sameKey = ordering.map((column) => `l.${column} = h.${column}`).join(' AND ')
  const lower = `${rowValue(qualified('l', table.sqlKeyColumns))} < ${rowValue(qualified('h', table.sqlKeyColumns))}`
  const leased =
    `SELECT ${rowValue(qualified('h', ordering), true)} FROM ${table.sqlName} AS h ` +
    `WHERE NOT EXISTS (SELECT 1 FROM ${table.sqlName} AS l WHERE ${sameKey} AND ${lower}) ` +
    `ORDER BY ${qualified('h', table.sqlKeyColumns).join(', ')} LIMIT ${heads} FOR UPDATE SKIP LOCKED`
  return (
    `SELECT ${key} FROM ${table.sqlName} WHERE ${rowValue(ordering, true)} = ANY(ARRAY(${leased})) ` +
    `ORDER BY ${key} LIMIT ${limit} FOR UPDATE`
  )
}

/** One column as itself; several as a row value (ROW(…) where it must be a single record, as in an array). */
function rowValue(columns: string[], record = false): string {
  if (columns.length === 1) return columns[0]!
  return `${record ? 'ROW' : ''}(${columns.join(', ')})`
}

/**
 * Runs several statements in one round trip on the query runner's own connection and returns every result:
 * TypeORM's query() keeps only one statement's rows. Like TypeORM it refuses a released runner (after a
 * connection error its client must not be used) and reports the query to the data source's logger.
 */
async function queryThroughDriver(runner: QueryRunner, sql: string): Promise<Array<{rows: RawRow[]}>> {
  if (runner.isReleased) throw new Error('Query runner already released. Cannot run queries anymore.')
  const {logger} = runner.dataSource
  const client = (await runner.connect()) as PgClient
  logger.logQuery(sql, undefined, runner)
  try {
    const results = await client.query(sql)
    return Array.isArray(results) ? results : [results]
  } catch (error) {
    logger.logQueryError(error as Error, sql, undefined, runner)
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

  async claim(runner: QueryRunner, table: SignalTable, limit: number): Promise<RawRow[]> {
    const heads = isOrdered(table) ? sqlLimit(headsToClaim(table, limit)) : undefined
    // Several statements travel together only in the simple protocol, which takes no parameters (see sqlLimit).
    const sql = [BEGIN, ...claimStatements(table, sqlLimit(limit), heads)].join(';\n')
    const rows = (await queryThroughDriver(runner, sql)).at(-1)?.rows ?? []
    if (heads !== undefined) recordOrderedClaim(table, rows)
    return rows
  },

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
