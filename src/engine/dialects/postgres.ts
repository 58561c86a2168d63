// PostgreSQL: one round trip claims a burst — BEGIN and DELETE … WHERE key = ANY(ARRAY(SELECT … FOR UPDATE SKIP
// LOCKED)) RETURNING * sent together — and one more commits it. An ordered model's claim leases keys in the same
// statement (see ../ordering.ts).
import type {EntityMetadata, QueryRunner} from 'typeorm'
import {keyOf, type RawRow, type SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {dataSourceOf} from '../../typeorm-compat.js'
import {errorCode, hasPendingRows, hasFilter, keyFilterCondition, sqlLimit, type ClaimFilter, type Dialect, type KeyConditionSyntax} from './dialect.js'
import {filterTest, headsToClaim, isOrdered, recordOrderedClaim, unbrokenRuns} from '../ordering.js'

const SERIALIZATION_FAILURE = '40001'
const DEADLOCK_DETECTED = '40P01'
const MINIMUM_SERVER_VERSION = 90500

/** The part of node-postgres's client the claim uses: a simple query with several statements returns one result each. */
interface PgClient {
  query(sql: string, parameters?: unknown[]): Promise<{rows: RawRow[]} | Array<{rows: RawRow[]}>>
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
function claimStatements(table: SignalTable, limit: string, lease: Lease | undefined, where = ''): string[] {
  const key = table.sqlKeyColumns.join(', ')
  const pick = lease === undefined ? pickAny(table, limit, where) : pickOrdered(table, limit, lease, where)
  const claimed = (condition: string): string =>
    `WITH claimed AS (DELETE FROM ${table.sqlName} WHERE ${condition} RETURNING *) SELECT * FROM claimed ORDER BY ${key}`
  if (table.sqlKeyColumns.length === 1) return [claimed(`${key} = ANY(ARRAY(${pick}))`)]
  return ['SET LOCAL enable_hashjoin = off', 'SET LOCAL enable_mergejoin = off', claimed(`(${key}) IN (${pick})`)]
}

/** Any `limit` rows no other transaction holds (and that pass the filter's condition), oldest key first. */
function pickAny(table: SignalTable, limit: string, where: string): string {
  const key = table.sqlKeyColumns.join(', ')
  const condition = where ? ` WHERE ${where}` : ''
  return `SELECT ${key} FROM ${table.sqlName}${condition} ORDER BY ${key} LIMIT ${limit} FOR UPDATE SKIP LOCKED`
}

/** How an ordered claim leases keys: how many, and whether an index leads with the ordering key. */
interface Lease {
  heads: string
  indexed: boolean
}

/**
 * The ordered pick (see ../ordering.ts): lease up to `heads` keys by locking their lowest visible rows with SKIP
 * LOCKED, then lock those keys' rows in key order up to `limit`. Which rows are heads is asked in a sub-select,
 * which is not a locking read: it sees a lower row that another burst has claimed (its delete is not committed),
 * so a key in flight has no head. With an index that leads with the ordering key, `NOT EXISTS (a lower row)` is
 * one index probe per row looked at; without one, that anti-join compares every row with every other row of its
 * key, so the heads are listed once per claim instead (DISTINCT ON: one sorted pass over the table). The ARRAY(…)
 * sub-selects run once (InitPlans), so the lease is taken once per claim. Rows never change but by a delete, so
 * the waiting FOR UPDATE of the second step meets a row of another transaction only when the application
 * committed a lower key of a leased key late (see docs): it then waits for that burst.
 *
 * `headWhere` (a claim filter's condition, on unqualified columns) restricts which rows may be leased as heads; it
 * does not change which rows count as lower rows, so a key whose head the filter leaves out has no head at all.
 * The second step takes the leased keys' rows whatever the filter: the caller cuts each key's run at its first row
 * the filter leaves out (see filteredOrderedClaim).
 */
function pickOrdered(table: SignalTable, limit: string, lease: Lease, headWhere = ''): string {
  const key = table.sqlKeyColumns.join(', ')
  const qualified = (alias: string, columns: string[]): string[] => columns.map((column) => `${alias}.${column}`)
  const ordering = table.sqlOrderingColumns
  const sameKey = ordering.map((column) => `l.${column} = h.${column}`).join(' AND ')
  const lower = `${rowValue(qualified('l', table.sqlKeyColumns))} < ${rowValue(qualified('h', table.sqlKeyColumns))}`
  const isHead = lease.indexed
    ? `NOT EXISTS (SELECT 1 FROM ${table.sqlName} AS l WHERE ${sameKey} AND ${lower})`
    : `${rowValue(qualified('h', table.sqlKeyColumns), true)} = ANY(ARRAY(` +
      `SELECT DISTINCT ON (${ordering.join(', ')}) ${rowValue(table.sqlKeyColumns, true)} FROM ${table.sqlName} ` +
      `ORDER BY ${[...ordering, ...table.sqlKeyColumns].join(', ')}))`
  const leased =
    `SELECT ${rowValue(qualified('h', ordering), true)} FROM ${table.sqlName} AS h WHERE ${isHead}${headWhere ? ` AND ${headWhere}` : ''} ` +
    `ORDER BY ${qualified('h', table.sqlKeyColumns).join(', ')} LIMIT ${lease.heads} FOR UPDATE SKIP LOCKED`
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

/**
 * An ordered claim with a filter (narrowing a failed burst by its keys, or leaving out the signals found failing).
 * The heads are leased among the rows the filter lets through, but every visible row still counts as a lower row,
 * so a key whose lowest row is left out (a failing signal) is held back whole. The leased keys' rows are locked
 * (not yet deleted) in key order; each key's run is cut at its first row the filter leaves out, and only the rows
 * before it are deleted: a later row of a key never goes without the earlier ones. The rows locked beyond a cut are
 * released at commit, unsent.
 */
async function filteredOrderedClaim(runner: QueryRunner, table: SignalTable, limit: number, filter: ClaimFilter, lease: Lease): Promise<RawRow[]> {
  const key = table.sqlKeyColumns.join(', ')
  const condition = keyFilterCondition(table, filter, pgKeySyntax)
  const pick = pickOrdered(table, sqlLimit(limit), lease, condition.sql)
  const composite = table.sqlKeyColumns.length > 1
  const lockedSql = composite
    ? `SELECT * FROM ${table.sqlName} WHERE (${key}) IN (${pick}) ORDER BY ${key}`
    : `SELECT * FROM ${table.sqlName} WHERE ${key} = ANY(ARRAY(${pick})) ORDER BY ${key}`
  await queryThroughDriver(runner, [BEGIN, ...(composite ? ['SET LOCAL enable_hashjoin = off', 'SET LOCAL enable_mergejoin = off'] : [])].join(';\n'))
  const locked = (await queryThroughDriver(runner, lockedSql, condition.parameters)).at(-1)?.rows ?? []
  const rows = unbrokenRuns(table, locked, locked.filter(filterTest(table, filter)))
  if (rows.length === 0) return []
  const claimed = keyFilterCondition(table, {only: rows.map((row) => keyOf(table, row))}, pgKeySyntax)
  await queryThroughDriver(runner, `DELETE FROM ${table.sqlName} WHERE ${claimed.sql}`, claimed.parameters)
  return rows
}

/** Whether each ordered table has an index whose leading columns are its ordering key (looked up once). */
const orderingIndexed = new WeakMap<SignalTable, Promise<boolean>>()

function hasOrderingIndex(runner: QueryRunner, table: SignalTable): Promise<boolean> {
  let known = orderingIndexed.get(table)
  if (!known) {
    known = lookUpOrderingIndex(runner, table).catch((error: unknown) => {
      orderingIndexed.delete(table)
      throw error
    })
    orderingIndexed.set(table, known)
  }
  return known
}

async function lookUpOrderingIndex(runner: QueryRunner, table: SignalTable): Promise<boolean> {
  const rows = (await runner.query(
    `SELECT array_to_string(i.indkey::int2[], ' ') AS columns, ` +
      `(SELECT string_agg(a.attnum::text, ' ' ORDER BY k.position) FROM unnest($2::text[]) WITH ORDINALITY AS k(name, position) ` +
      `JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attname = k.name) AS wanted ` +
      `FROM pg_index i WHERE i.indrelid = $1::regclass`,
    [table.sqlName, table.orderingColumns],
  )) as Array<{columns: string; wanted: string | null}>
  return rows.some((row) => row.wanted !== null && `${row.columns} `.startsWith(`${row.wanted} `))
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
    if (isOrdered(table)) {
      const lease = {heads: sqlLimit(headsToClaim(table, limit)), indexed: await hasOrderingIndex(runner, table)}
      const rows = hasFilter(filter)
        ? await filteredOrderedClaim(runner, table, limit, filter, lease)
        : ((await queryThroughDriver(runner, [BEGIN, ...claimStatements(table, sqlLimit(limit), lease)].join(';\n'))).at(-1)?.rows ?? [])
      recordOrderedClaim(table, rows)
      return rows
    }
    if (!hasFilter(filter)) {
      // Several statements travel together only in the simple protocol, which takes no parameters (see sqlLimit).
      const sql = [BEGIN, ...claimStatements(table, sqlLimit(limit), undefined)].join(';\n')
      return (await queryThroughDriver(runner, sql)).at(-1)?.rows ?? []
    }
    // Keys go as parameters, so the claiming statement takes a round trip of its own after the BEGIN.
    const condition = keyFilterCondition(table, filter, pgKeySyntax)
    const statements = claimStatements(table, sqlLimit(limit), undefined, condition.sql)
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
